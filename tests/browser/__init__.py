"""Real-browser tests: JupyterLab on loopback driven by Debian's chromium through Playwright."""
