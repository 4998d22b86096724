#!/usr/bin/env python3
"""Answers the Azure CLI's instance discovery for an OpenPAL server, for az before 2.54.

MSAL asks https://login.microsoftonline.com/common/discovery/instance whether an authority is a
real one before it reads the authority's own metadata. Azure CLI 2.54 and later can turn that off
(`az config set core.instance_discovery=false`); earlier versions (Debian's azure-cli 2.45) cannot,
so `az login` against any other host fails (no network, or "invalid_instance" from Microsoft).

This script asks the OpenPAL server's own instance discovery endpoint
(<server>/common/discovery/instance) and stores its answers in the CLI's MSAL HTTP cache
(<AZURE_CONFIG_DIR>/msal_http_cache.bin), exactly where MSAL keeps the answers it fetched itself,
for the authorities `az login` uses (organizations, common and each --tenant given) and the
home realm of each --user (MSAL asks it without the port, so only a server on 443 is reached). The answers
are kept for 24 hours (MSAL's own rule); run the script again after that.

Usage (Debian's interpreter, where azure-cli lives; the CA bundle as for az itself):
  REQUESTS_CA_BUNDLE=.openpal/tls/ca.crt /usr/bin/python3 scripts/az-instance-discovery.py \\
      --server https://127.0.0.1:8443 [--tenant <id-or-domain> ...] [--config-dir ~/.azure]
"""
import argparse
import os
import sys
from urllib.parse import urlparse

try:
    import requests
    from msal.throttled_http_client import ThrottledHttpClient
    from azure.cli.core.auth.binary_cache import BinaryCache
except ImportError as error:  # pragma: no cover - depends on the machine
    sys.exit(f"{error}: run this with the Python that has the Azure CLI (Debian: apt-get install azure-cli; /usr/bin/python3).")

MICROSOFT_DISCOVERY = "https://login.microsoftonline.com/common/discovery/instance"
MSAL_METADATA = MICROSOFT_DISCOVERY + "?api-version=1.1&authorization_endpoint=https://login.microsoftonline.com/common/oauth2/authorize"


class OpenPalDiscovery:
    """An HTTP client for MSAL's cache wrapper that asks the OpenPAL server instead of Microsoft."""

    def __init__(self, server):
        self.server = server

    def get(self, url, params=None, **kwargs):
        if url.startswith(MICROSOFT_DISCOVERY):
            target = self.server + "/common/discovery/instance" + url[len(MICROSOFT_DISCOVERY):]
        elif url.startswith(f"https://{urlparse(self.server).hostname}/"):
            # MSAL drops the port from the host it asks for home realm discovery.
            target = self.server + "/" + url.split("/", 3)[3]
        else:
            raise ValueError(f"unexpected request to {url}")
        response = requests.get(target, params=params, timeout=30, **kwargs)
        response.raise_for_status()
        return response

    def post(self, *args, **kwargs):  # MSAL's wrapper wraps post too; discovery never posts
        raise ValueError("instance discovery never posts")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True, help="the OpenPAL base URL, e.g. https://127.0.0.1:8443")
    parser.add_argument("--tenant", action="append", default=[], help="a tenant id or domain az will sign in to (repeatable)")
    parser.add_argument("--user", action="append", default=[], help="a user name az will sign in with -u (repeatable; needed when the server is not on port 443)")
    parser.add_argument("--config-dir", default=os.environ.get("AZURE_CONFIG_DIR") or os.path.expanduser("~/.azure"))
    args = parser.parse_args()
    server = args.server.rstrip("/")
    host = urlparse(server).hostname
    os.makedirs(args.config_dir, exist_ok=True)
    cache = BinaryCache(os.path.join(args.config_dir, "msal_http_cache.bin"))
    client = ThrottledHttpClient(OpenPalDiscovery(server), cache)
    for segment in ["organizations", "common", *args.tenant]:
        # MSAL names the authority by host name only (no port) in this question.
        authorize = f"https://{host}/{segment}/oauth2/v2.0/authorize"
        response = client.get(MICROSOFT_DISCOVERY, params={"authorization_endpoint": authorize, "api-version": "1.0"})
        print(f"{segment}: {response.json()['tenant_discovery_endpoint']}")
    # MSAL's own question for the instance aliases (asked when it lists or removes accounts:
    # az account list/show after a user sign-in, az logout), with its query written in the URL.
    client.get(MSAL_METADATA, headers={"Accept": "application/json"})
    for user in args.user:
        # MSAL asks where a password sign-in goes at https://<host>/common/userrealm/<user>, without
        # the port: it reaches a server on port 443 itself, any other port only through this cache.
        response = client.get(f"https://{host}/common/userrealm/{user}?api-version=1.0", headers={"Accept": "application/json"})
        print(f"{user}: {response.json()['account_type']}")


if __name__ == "__main__":
    main()
