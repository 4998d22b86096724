#!/usr/bin/python3
"""Drives an OpenPAL server with Debian's Azure SDK for Python, as a user's script would.

Usage: /usr/bin/python3 python_sdk.py '<json config>'   (config: see python-sdk.test.ts)
Prints one JSON object with what each call returned; a failing call is recorded, not fatal, so the
test can name exactly which one broke.
"""
import json
import sys
import traceback

from azure.identity import ClientSecretCredential, UsernamePasswordCredential
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resource import ResourceManagementClient, SubscriptionClient
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.managementpartner import ACEProvisioningManagementPartnerAPI

AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

config = json.loads(sys.argv[1])
url = config["url"]
out = {}


def record(name, work):
    try:
        out[name] = {"ok": work()}
    except HttpResponseError as error:
        out[name] = {"ok": None, "status": error.status_code, "code": getattr(error.error, "code", None), "message": str(error.message)}
    except Exception as error:  # the test prints it when the call was expected to work
        out[name] = {"ok": None, "error": f"{type(error).__name__}: {error}", "trace": traceback.format_exc()[-2000:]}


def credential_args(extra):
    # The authority host is the server; instance discovery is Microsoft's, so it is turned off
    # (azure-identity 1.13.0b2 calls the switch instance_discovery; 1.13+ disable_instance_discovery).
    import azure.identity
    version = azure.identity.__version__
    switch = {"instance_discovery": False} if version.startswith("1.13.0b") else {"disable_instance_discovery": True}
    return {"authority": url, **switch, **extra}


def arm_clients(credential, subscription_id):
    kwargs = {"base_url": url, "credential_scopes": ["https://management.azure.com/.default"]}
    return {
        "resources": ResourceManagementClient(credential, subscription_id, **kwargs),
        "subscriptions": SubscriptionClient(credential, **kwargs),
        "authorization": AuthorizationManagementClient(credential, subscription_id, **kwargs),
        "partner": ACEProvisioningManagementPartnerAPI(credential, **kwargs),
    }


def exercise(prefix, credential, subscription_id, partner_ids):
    c = arm_clients(credential, subscription_id)
    record(f"{prefix}.token_tid", lambda: _tid(credential))
    record(f"{prefix}.subscriptions.list", lambda: sorted(s.subscription_id for s in c["subscriptions"].subscriptions.list()))
    record(f"{prefix}.subscriptions.get", lambda: c["subscriptions"].subscriptions.get(subscription_id).display_name)
    record(f"{prefix}.tenants.list", lambda: sorted(t.tenant_id for t in c["subscriptions"].tenants.list()))
    record(f"{prefix}.resource_groups.list", lambda: sorted(g.name for g in c["resources"].resource_groups.list()))
    record(f"{prefix}.resource_groups.get", lambda: c["resources"].resource_groups.get(config["resourceGroup"]).name)
    record(f"{prefix}.resource_groups.check_existence", lambda: c["resources"].resource_groups.check_existence(config["resourceGroup"]))
    record(f"{prefix}.resource_groups.check_existence_missing", lambda: c["resources"].resource_groups.check_existence("rg-does-not-exist"))
    record(f"{prefix}.providers.get", lambda: c["resources"].providers.get("Microsoft.ManagementPartner").registration_state)
    record(f"{prefix}.providers.list", lambda: sorted(p.namespace for p in c["resources"].providers.list()))
    record(f"{prefix}.providers.register", lambda: c["resources"].providers.register("Microsoft.ManagementPartner").registration_state)
    record(f"{prefix}.role_assignments.list", lambda: sorted(a.principal_id for a in c["authorization"].role_assignments.list_for_subscription()))
    record(f"{prefix}.role_definitions.list", lambda: len(list(c["authorization"].role_definitions.list(f"/subscriptions/{subscription_id}"))))
    first, second = partner_ids
    record(f"{prefix}.partner.delete_before", lambda: c["partner"].partner.delete(first))
    record(f"{prefix}.partner.update_not_linked", lambda: c["partner"].partner.update("123").partner_id)
    record(f"{prefix}.partner.create", lambda: c["partner"].partner.create(first).partner_id)
    record(f"{prefix}.partner.get", lambda: c["partner"].partner.get(first).partner_id)
    record(f"{prefix}.partners.get", lambda: c["partner"].partners.get().partner_id)
    record(f"{prefix}.partner.update", lambda: c["partner"].partner.update(second).partner_id)
    record(f"{prefix}.partner.delete", lambda: c["partner"].partner.delete(second))
    record(f"{prefix}.partners.get_after_delete", lambda: c["partner"].partners.get().partner_id)


def _tid(credential):
    token = credential.get_token("https://management.azure.com/.default").token
    import base64
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))["tid"]


def installed_versions():
    """What each installed client sends, read from the client itself: [client, namespace, type, version]."""
    from azure.mgmt.managementpartner._configuration import ACEProvisioningManagementPartnerAPIConfiguration
    rows = [
        ["azure-mgmt-resource ResourceManagementClient", "Microsoft.Resources", "resourceGroups", ResourceManagementClient.DEFAULT_API_VERSION],
        ["azure-mgmt-resource ResourceManagementClient", "Microsoft.Resources", "providers", ResourceManagementClient.DEFAULT_API_VERSION],
        ["azure-mgmt-resource SubscriptionClient", "Microsoft.Resources", "subscriptions", SubscriptionClient.DEFAULT_API_VERSION],
        ["azure-mgmt-resource SubscriptionClient", "Microsoft.Resources", "tenants", SubscriptionClient.DEFAULT_API_VERSION],
        ["azure-mgmt-authorization", "Microsoft.Authorization", "roleAssignments", AuthorizationManagementClient.DEFAULT_API_VERSION],
        ["azure-mgmt-authorization", "Microsoft.Authorization", "roleDefinitions", AuthorizationManagementClient.DEFAULT_API_VERSION],
        ["azure-mgmt-managementpartner", "Microsoft.ManagementPartner", "partners", ACEProvisioningManagementPartnerAPIConfiguration(credential=object()).api_version],
    ]
    try:
        from azure.mgmt.managementgroups._configuration import ManagementGroupsAPIConfiguration
        rows.append(["azure-mgmt-managementgroups", "Microsoft.Management", "managementGroups", ManagementGroupsAPIConfiguration(credential=object()).api_version])
    except ImportError:
        pass
    try:
        from azure.mgmt.managedservices._configuration import ManagedServicesClientConfiguration
        v = ManagedServicesClientConfiguration(credential=object()).api_version
        rows += [["azure-mgmt-managedservices", "Microsoft.ManagedServices", t, v] for t in ("registrationDefinitions", "registrationAssignments")]
    except ImportError:
        pass
    try:  # the Azure CLI's own profile ("latest"), as az 2.45 sends it
        from azure.cli.core.profiles._shared import AZURE_API_PROFILES, ResourceType
        latest = AZURE_API_PROFILES["latest"]
        auth = latest[ResourceType.MGMT_AUTHORIZATION]
        rows += [
            ["az", "Microsoft.Resources", "resourceGroups", latest[ResourceType.MGMT_RESOURCE_RESOURCES]],
            ["az", "Microsoft.Resources", "providers", latest[ResourceType.MGMT_RESOURCE_RESOURCES]],
            ["az", "Microsoft.Resources", "subscriptions", latest[ResourceType.MGMT_RESOURCE_SUBSCRIPTIONS]],
            ["az", "Microsoft.Resources", "tenants", latest[ResourceType.MGMT_RESOURCE_SUBSCRIPTIONS]],
            ["az", "Microsoft.Authorization", "roleAssignments", auth.default_api_version],
            ["az", "Microsoft.Authorization", "roleDefinitions", auth.profile["role_definitions"]],
        ]
    except ImportError:
        pass
    return rows


if config.get("mode") == "versions":
    print(json.dumps(installed_versions()))
    sys.exit(0)

sp = ClientSecretCredential(config["tenant"], config["appId"], config["secret"], **credential_args({}))
exercise("sp", sp, config["subscription"], config["partnerIds"])

# A user without a tenant signs in at `organizations`: the token is for the home tenant.
user = UsernamePasswordCredential(AZURE_CLI_CLIENT_ID, config["user"], config["password"], **credential_args({}))
exercise("user", user, config["userSubscription"], config["partnerIds"])

# The same user in a tenant where it is a guest.
guest = UsernamePasswordCredential(AZURE_CLI_CLIENT_ID, config["user"], config["password"], **credential_args({"tenant_id": config["tenant"]}))
record("guest.token_tid", lambda: _tid(guest))
record("guest.resource_groups.get", lambda: arm_clients(guest, config["subscription"])["resources"].resource_groups.get(config["resourceGroup"]).name)

print(json.dumps(out))
