// Keyboard shortcuts of the candidate page: a key picks the control marked data-key="...".
// A link (next, previous) is followed; a decision button only gets the focus, and Enter
// (or Space) then presses it: no single key decides. Keys typed into a field are text.
document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.target.closest("input, textarea, select, [contenteditable]")) return;
  const chosen = document.querySelector(`[data-key="${CSS.escape(event.key)}"]`);
  if (!chosen || chosen.disabled) return;
  event.preventDefault();
  if (chosen.tagName === "A") {
    chosen.click();
  } else {
    chosen.focus();
  }
});
