"""Ducha web workbench (督查工作台): one URL for every role, a backend-for-frontend in front of the
four services. Server-rendered (Jinja2), no CDN, charts as inline SVG."""

__version__ = "0.1.0"
