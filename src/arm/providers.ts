/**
 * The resource provider API of ARM (Microsoft.Resources/providers), over the provider data of
 * api-versions.ts:
 *   GET  /providers[/{namespace}]                                  tenant level, no registration state
 *   GET  /subscriptions/{s}/providers[/{namespace}]                with registrationState
 *   POST /subscriptions/{s}/providers/{namespace}/register         idempotent: Registered
 *   POST /subscriptions/{s}/providers/{namespace}/unregister       refused (ProviderUnregistrationNotSupported)
 *
 * Every namespace this server plays is registered on every subscription from the start, and stays
 * so (SPEC-DEVIATIONS: the server keeps no registration state). Reading a subscription's providers
 * needs read access on it; registering needs `{namespace}/register/action`, as in ARM.
 */
import type { Caller } from "../identity/index.ts";
import type { Store } from "../store/index.ts";
import type { Scope } from "../domain/scope.ts";
import { PROVIDER_DATA, providerData, type ProviderData } from "./api-versions.ts";
import { accessAt } from "./access.ts";
import { armError } from "./errors.ts";

export type ProviderAction = "list" | "get" | "register" | "unregister";

export interface ProviderRequest {
  readonly scope: Scope;
  /** Undefined for the list. */
  readonly namespace: string | undefined;
  readonly action: ProviderAction;
}

function representation(data: ProviderData, subscriptionId: string | undefined): Record<string, unknown> {
  const id = subscriptionId === undefined ? `/providers/${data.namespace}` : `/subscriptions/${subscriptionId}/providers/${data.namespace}`;
  return {
    id,
    namespace: data.namespace,
    ...(subscriptionId === undefined ? {} : { registrationState: "Registered", registrationPolicy: "RegistrationRequired" }),
    resourceTypes: data.resourceTypes.map((t) => ({ resourceType: t.resourceType, locations: [...t.locations], apiVersions: [...t.apiVersions], capabilities: "None" })),
  };
}

function registered(): string {
  return PROVIDER_DATA.map((p) => p.namespace).join(", ");
}

/** Answers a provider API request; the caller is already authenticated. */
export async function providersApi(store: Store, caller: Caller, request: ProviderRequest, now: number, baseUrl: string): Promise<Record<string, unknown>> {
  const { scope, action } = request;
  let subscriptionId: string | undefined;
  if (scope.kind === "subscription") {
    const { target, access } = await accessAt(store, caller, scope, now, baseUrl);
    subscriptionId = target.subscription?.id ?? (scope.subscriptionId as string);
    if (action === "list" || action === "get") access.require(target, "Microsoft.Resources/subscriptions/providers/read");
    else if (request.namespace) {
      const data = providerData(request.namespace);
      if (data) access.require(target, `${data.namespace}/register/action`);
    }
  } else if (scope.kind !== "root") {
    throw armError("InvalidRequestUri", { path: `${scope.id}/providers`, reason: "resource providers are listed at / and at /subscriptions/{id}" });
  } else if (action === "register" || action === "unregister") {
    throw armError("InvalidRequestUri", { path: `/providers/${request.namespace ?? ""}/${action}`, reason: `providers are ${action}ed on a subscription: POST /subscriptions/{id}/providers/{namespace}/${action}` });
  }
  if (action === "list") return { value: PROVIDER_DATA.map((p) => representation(p, subscriptionId)) };
  const data = providerData(request.namespace ?? "");
  if (!data) throw armError("InvalidResourceNamespace", { namespace: request.namespace ?? "", registered: registered() });
  if (action === "unregister") {
    throw armError("ProviderUnregistrationNotSupported", { namespace: data.namespace });
  }
  return representation(data, subscriptionId);
}
