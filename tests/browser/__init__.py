"""End-to-end tests through a real browser (Debian's headless Chromium via Playwright)."""
