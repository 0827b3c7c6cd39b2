"""Invitation messages: what they say, per-study templates, the e-mail, and what they never say."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.messages import (
    DEFAULT_TEMPLATES,
    InvitationContext,
    RenderedInvitation,
    build_email,
    render_invitation,
)

CONTEXT = InvitationContext(
    first_name="Åse",
    organiser="Søvnklinikken, Aarhus Universitetshospital",
    invitation_title="Hverdagsliv og trivsel (HVT)",
    involves="Fire besøg i Aarhus over 12 uger og et kort spørgeskema hver uge. Transport betales.",
    reply_to="hvt@example.dk",
    stop_contact="Svar STOP på denne e-mail, eller gå til https://sundhedspanelet.dk/stop.",
)
STUDY = "rls-magnesium"
CPH = timezone(timedelta(hours=1))

#: Words that would state a health detail or a criterion; the default templates never say them.
HEALTH_WORDS = (
    "rastløse ben",
    "uro i benene",
    "diagnose",
    "icd",
    "magnesium",
    "graviditet",
    "gravid",
    "medicin",
    "sygdom",
    "symptom",
    "kriteri",
    "opfylder",
    "behandling",
    "blodprøve",
)


def said(context: InvitationContext) -> list[str]:
    """The context's values a message shows (no answer link: None)."""
    return [value for value in dataclasses.asdict(context).values() if value is not None]


def parts(rendered: RenderedInvitation) -> dict[str, str]:
    return dataclasses.asdict(rendered)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# --- what an invitation says -------------------------------------------------------------------


def test_every_body_says_who_what_how_to_reply_and_how_to_stop() -> None:
    rendered = render_invitation(STUDY, CONTEXT)
    for name in ("text", "html"):
        body = getattr(rendered, name)
        for value in said(CONTEXT):
            assert value in body, (name, value)
        assert "passer muligvis til et forskningsprojekt" in body
        assert "svar på denne e-mail" in body
        assert "frivilligt" in body
        assert "ingen konsekvenser" in body
    # The SMS leaves out what taking part involves (too long for a text message).
    for value in said(CONTEXT):
        if value != CONTEXT.involves:
            assert value in rendered.sms, value
    assert "passer muligvis til et forskningsprojekt" in rendered.sms


def test_subject_is_one_line_and_sms_is_short() -> None:
    rendered = render_invitation(STUDY, CONTEXT)
    assert rendered.subject.strip() == rendered.subject
    assert "\n" not in rendered.subject and "\r" not in rendered.subject
    assert "Sundhedspanelet" in rendered.subject
    assert "\n" not in rendered.sms
    assert len(rendered.sms) <= 320


def test_text_greets_by_first_name_and_signs_off_from_the_panel() -> None:
    text = render_invitation(STUDY, CONTEXT).text
    assert text.startswith("Hej Åse\n")
    assert text.endswith("Venlig hilsen\nSundhedspanelet\n")
    panel = dataclasses.replace(CONTEXT, panel_name="Forskningspanelet Nord")
    assert render_invitation(STUDY, panel).text.endswith("Forskningspanelet Nord\n")


def test_html_is_a_small_danish_document() -> None:
    html = render_invitation(STUDY, CONTEXT).html
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="da">' in html
    assert '<meta charset="utf-8">' in html
    assert 'href="mailto:hvt@example.dk"' in html
    assert html.rstrip().endswith("</html>")


def test_html_escapes_what_researchers_wrote_and_text_keeps_it() -> None:
    nasty = dataclasses.replace(
        CONTEXT,
        involves="<script>alert(1)</script> & mere",
        organiser='Klinik "<b>X</b>"',
    )
    rendered = render_invitation(STUDY, nasty)
    assert "<script>" not in rendered.html and "<b>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; mere" in rendered.html
    assert "&lt;b&gt;X&lt;/b&gt;" in rendered.html
    assert "<script>alert(1)</script> & mere" in rendered.text
    assert 'Klinik "<b>X</b>"' in rendered.text
    assert 'Klinik "<b>X</b>"' in rendered.sms


# --- per-study templates -----------------------------------------------------------------------


def test_a_study_may_override_only_its_plain_text(tmp_path: Path) -> None:
    write(
        tmp_path / "sleep-healthy" / "invitation.txt.j2", "Kære {{ first_name }}, særlig tekst.\n"
    )
    default = render_invitation("sleep-healthy", CONTEXT)

    overridden = render_invitation("sleep-healthy", CONTEXT, tmp_path)
    assert overridden.text == "Kære Åse, særlig tekst.\n"
    assert overridden.html == default.html
    assert overridden.subject == default.subject
    assert overridden.sms == default.sms

    other = render_invitation("t2d-midtjylland", CONTEXT, tmp_path)
    assert other == default


def test_the_template_dir_itself_applies_to_every_study(tmp_path: Path) -> None:
    write(tmp_path / "invitation.subject.j2", "Nyt fra\n  {{ panel_name }}\n")
    write(tmp_path / "one-study" / "invitation.subject.j2", "Kun for {{ first_name }}\n")
    assert render_invitation("any-study", CONTEXT, tmp_path).subject == "Nyt fra Sundhedspanelet"
    assert render_invitation("one-study", CONTEXT, tmp_path).subject == "Kun for Åse"


def test_a_studys_own_html_is_escaped_too(tmp_path: Path) -> None:
    write(tmp_path / "rls-magnesium" / "invitation.html.j2", "<p>{{ involves }}</p>\n")
    nasty = dataclasses.replace(CONTEXT, involves="<script>x</script>")
    rendered = render_invitation("rls-magnesium", nasty, tmp_path)
    assert rendered.html == "<p>&lt;script&gt;x&lt;/script&gt;</p>\n"
    assert "<script>x</script>" in rendered.text


@pytest.mark.parametrize(
    "source",
    [
        "Hej {{ first_name }}, din {{ diagnosis }}\n",
        # Refused even in a branch that would not be rendered.
        "{% if false %}{{ diagnosis }}{% endif %}Hej\n",
    ],
)
def test_a_template_naming_anything_else_fails_loudly(tmp_path: Path, source: str) -> None:
    write(tmp_path / "rls-magnesium" / "invitation.txt.j2", source)
    with pytest.raises(ValueError, match=r"invitation\.txt\.j2.*diagnosis"):
        render_invitation("rls-magnesium", CONTEXT, tmp_path)


def test_a_template_cannot_reach_behind_the_context(tmp_path: Path) -> None:
    write(tmp_path / "rls-magnesium" / "invitation.sms.j2", "{{ first_name.__class__ }}\n")
    with pytest.raises(ValueError, match=r"invitation\.sms\.j2.*__class__"):
        render_invitation("rls-magnesium", CONTEXT, tmp_path)


@pytest.mark.parametrize("study_id", ["../etc", "a/b", "", "RLS", "-x"])
def test_a_study_id_must_be_a_study_id(tmp_path: Path, study_id: str) -> None:
    with pytest.raises(ValueError, match="not a study id"):
        render_invitation(study_id, CONTEXT, tmp_path)


# --- the e-mail ----------------------------------------------------------------------------------


def make_email(**overrides: str) -> EmailMessage:
    fields: dict[str, str] = {
        "to": "Åse Ørnsø <ase@example.dk>",
        "sender": "Sundhedspanelet <invitation@sundhedspanelet.dk>",
        "reply_to": "hvt@example.dk",
        "message_id": "<inv-42.rls-magnesium@panelmatch.local>",
        **overrides,
    }
    return build_email(
        render_invitation(STUDY, CONTEXT), date=datetime(2025, 3, 4, 9, 30, tzinfo=CPH), **fields
    )


def parse(message: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_the_email_parses_back_with_its_headers_and_both_parts() -> None:
    rendered = render_invitation(STUDY, CONTEXT)
    parsed = parse(make_email(unsubscribe="stop@sundhedspanelet.dk"))

    assert parsed["From"] == "Sundhedspanelet <invitation@sundhedspanelet.dk>"
    assert parsed["To"] == "Åse Ørnsø <ase@example.dk>"
    assert parsed["Reply-To"] == "hvt@example.dk"
    assert parsed["Subject"] == rendered.subject
    assert parsed["Message-ID"] == "<inv-42.rls-magnesium@panelmatch.local>"
    assert parsed["Date"].datetime == datetime(2025, 3, 4, 9, 30, tzinfo=CPH)
    assert parsed["List-Unsubscribe"] == "<mailto:stop@sundhedspanelet.dk>"
    assert parsed["Content-Language"] == "da"
    assert parsed["Auto-Submitted"] is None
    assert parsed.get_content_type() == "multipart/alternative"

    text, html = parsed.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    assert text.get_content_charset() == html.get_content_charset() == "utf-8"
    # On the wire (policy SMTP) lines end in CRLF.
    assert text.get_content().replace("\r\n", "\n") == rendered.text
    assert html.get_content().replace("\r\n", "\n") == rendered.html
    assert "spørgeskema" in text.get_content() and "Søvnklinikken" in html.get_content()


@pytest.mark.parametrize(
    ("unsubscribe", "header"),
    [
        ("mailto:stop@sundhedspanelet.dk", "<mailto:stop@sundhedspanelet.dk>"),
        ("https://sundhedspanelet.dk/stop?t=abc", "<https://sundhedspanelet.dk/stop?t=abc>"),
        ("<https://sundhedspanelet.dk/stop>", "<https://sundhedspanelet.dk/stop>"),
    ],
)
def test_list_unsubscribe_wraps_an_address_or_url(unsubscribe: str, header: str) -> None:
    assert parse(make_email(unsubscribe=unsubscribe))["List-Unsubscribe"] == header


def test_without_unsubscribe_there_is_no_list_unsubscribe() -> None:
    assert parse(make_email())["List-Unsubscribe"] is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"message_id": "inv-42@panelmatch.local"},
        {"unsubscribe": "javascript:alert(1)"},
        {"to": "ase@example.dk\r\nBcc: eve@example.dk"},
    ],
)
def test_malformed_headers_are_refused(overrides: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        make_email(**overrides)


def test_a_naive_date_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        build_email(
            render_invitation(STUDY, CONTEXT),
            to="ase@example.dk",
            sender="invitation@sundhedspanelet.dk",
            reply_to="hvt@example.dk",
            message_id="<inv-1@panelmatch.local>",
            date=datetime(2025, 3, 4, 9, 30),
        )


# --- what an invitation never says -----------------------------------------------------------------


def test_the_default_templates_fixed_wording_names_no_health_detail() -> None:
    for path in sorted(DEFAULT_TEMPLATES.glob("*.j2")):  # invitations and reminders
        fixed = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", path.read_text(encoding="utf-8")).lower()
        for word in HEALTH_WORDS:
            assert word not in fixed, (path.name, word)


def _mentions_health(value: str) -> bool:
    return any(word in value.lower() for word in HEALTH_WORDS)


_value = st.text(
    alphabet=st.sampled_from(
        "abcdefghijklmnopqrstuvwxyzæøåABCDEFGHIJKLMNOPQRSTUVWXYZÆØÅ0123456789 .,-"
    ),
    min_size=1,
    max_size=40,
).filter(lambda value: value.strip() and not _mentions_health(value))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    st.builds(
        InvitationContext,
        first_name=_value,
        organiser=_value,
        invitation_title=_value,
        involves=_value,
        reply_to=_value,
        stop_contact=_value,
        panel_name=_value,
    )
)
def test_no_health_detail_reaches_a_message_unless_the_context_has_it(
    context: InvitationContext,
) -> None:
    for name, body in parts(render_invitation(STUDY, context)).items():
        # Cut out the context's values: what is left came from the templates alone.
        fixed = body
        for value in sorted(said(context), key=len, reverse=True):
            fixed = fixed.replace(value, "\0")
        for word in HEALTH_WORDS:
            assert word not in fixed.lower(), (name, word)


def test_a_health_word_appears_only_as_the_context_wrote_it() -> None:
    """The guard above is not vacuous: a value that names a health detail does show up."""
    careless = dataclasses.replace(CONTEXT, invitation_title="Magnesium mod rastløse ben")
    assert "rastløse ben" in render_invitation(STUDY, careless).text.lower()
