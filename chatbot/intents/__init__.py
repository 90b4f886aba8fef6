"""Intent classifiers and fallback (out-of-domain) detection."""
