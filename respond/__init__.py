"""The answer page: a small public web app where a volunteer answers their invitation from the
personal link it carries (yes, no, or stop). No login, no coordinator route (``respond.app``)."""
