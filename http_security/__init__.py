"""What every web app of the panel sends with its responses (``headers``): both the review app
and the answer page, which sit side by side and do not import each other, take it from here."""
