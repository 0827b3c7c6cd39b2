"""The review web app: coordinators work candidate lists; researchers see funnels and counts.

FastAPI with server-rendered Jinja2 pages (htmx for partial updates), on the panel store.
`panel review` starts it.
"""
