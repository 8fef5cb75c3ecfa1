"""PDF exports: point-by-point feedback (点对点反馈意见) and rectification notices (整改通知书).

``documents`` builds view-models from a session (numbers come from ``core.scoring``), ``render``
turns Jinja2 templates into PDFs with WeasyPrint behind an allow-list fetcher, ``batch`` spreads
the work over a process pool, ``qr``/``embed``/``verify`` make notices checkable from the PDF alone,
``fonts`` checks the system pieces (file names are made safe by ``core.naming``). Never imports textual.
"""
