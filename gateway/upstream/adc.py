"""Where Google application default credentials would come from, found without any network call (issue #9).

google-auth's own search ends with a probe of the GCE metadata server that costs seconds off Google Cloud
and finds nothing; livegate lets it probe only where a metadata server exists.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# Google Cloud runtimes that serve credentials from their metadata server (GEMINI_LIVE.md §1.2): only there is
# google-auth allowed to ask it. Elsewhere its probe costs seconds per session and finds nothing (issue #9).
_METADATA_ENV = ("GCE_METADATA_HOST", "GCE_METADATA_IP", "K_SERVICE", "GAE_SERVICE")
GCE_PRODUCT_NAME = "/sys/class/dmi/id/product_name"  # "Google Compute Engine" on GCE and GKE nodes


def adc_source(environ: Mapping[str, str], product_name_file: str = GCE_PRODUCT_NAME) -> str | None:
    """Where application default credentials would come from, found without any network call; None: nowhere."""
    if environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        return "GOOGLE_APPLICATION_CREDENTIALS"
    if os.path.isfile(_gcloud_adc_path(environ)):
        return "gcloud application-default credentials"
    if environ.get("NO_GCE_CHECK", "").lower() == "true":
        return None
    if any(environ.get(name) for name in _METADATA_ENV):
        return "the Google Cloud metadata server"
    try:
        with open(product_name_file, encoding="utf-8") as file:
            on_google_cloud = file.read().strip().startswith("Google")
    except OSError:
        on_google_cloud = False
    return "the Google Cloud metadata server" if on_google_cloud else None


def _gcloud_adc_path(environ: Mapping[str, str]) -> str:
    """gcloud's `application_default_credentials.json` (what `gcloud auth application-default login` writes)."""
    config = environ.get("CLOUDSDK_CONFIG")
    if not config:
        if os.name == "nt":
            config = os.path.join(environ.get("APPDATA", ""), "gcloud")
        else:
            config = os.path.join(environ.get("HOME") or os.path.expanduser("~"), ".config", "gcloud")
    return os.path.join(config, "application_default_credentials.json")
