// Typed work survives a session that ended. A form marked data-draft is kept in this tab's
// sessionStorage as it is sent. If the answer is a saved decision or the server's own
// refusal (which shows what was typed), the copy is dropped; if it is the login page (the
// session had ended), the copy waits, and after the login the same form gets it back, with
// the button that was pressed in focus: one more press saves it, after a fresh look.
(() => {
  const KEY = "panelmatch-draft";
  const HOURS = 2;

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-draft")) return;
    const fields = {};
    for (const element of form.elements) {
      const kept = element.name && !["hidden", "submit", "button"].includes(element.type);
      if (kept && (element.tagName === "TEXTAREA" || element.tagName === "SELECT" || element.type === "text")) {
        fields[element.name] = element.value;
      } else if (element.name && element.type === "hidden" && element.name !== "csrf_token" && form.hasAttribute("data-draft-for")) {
        fields[element.name] = element.value; // a confirmation's choice, for the list's form
      }
    }
    const pressed = event.submitter && event.submitter.name === "action" ? event.submitter.value : null;
    const page = form.getAttribute("data-draft-for") || location.pathname + location.search;
    sessionStorage.setItem(KEY, JSON.stringify({ page, fields, pressed, at: Date.now() }));
  });

  const restore = () => {
    const saved = sessionStorage.getItem(KEY);
    if (!saved || document.querySelector("form[action='/login']")) return; // after the login
    sessionStorage.removeItem(KEY);
    if (document.querySelector("[data-saved], [data-problem]")) return;
    let draft;
    try {
      draft = JSON.parse(saved);
    } catch {
      return;
    }
    if (!draft || Date.now() - draft.at > HOURS * 3600 * 1000) return;
    if (new URL(draft.page, location.href).pathname !== location.pathname) return;
    const form = document.querySelector("form[data-draft]:not([data-draft-for])");
    if (!form) return;
    for (const [name, value] of Object.entries(draft.fields || {})) {
      const field = form.elements.namedItem(name);
      if (field && "value" in field && field.type !== "hidden") field.value = value;
    }
    const notice = document.createElement("p");
    notice.className = "notice";
    notice.setAttribute("role", "status");
    notice.textContent =
      "Your session had ended, so this was not saved yet. What you typed is back: check it and save again.";
    form.before(notice);
    const button = draft.pressed && form.querySelector(`button[value="${CSS.escape(draft.pressed)}"]`);
    if (button) button.focus();
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", restore);
  else restore();
})();
