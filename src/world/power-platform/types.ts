/**
 * The `powerPlatform` section of a tenant in a world file (docs/POWER-PLATFORM.md, "World file").
 * Times are ISO 8601 UTC strings; intervals are `[from, to)`.
 */
import type { IsoTime } from "../iso-time.ts";

export interface WorldPpEnvironment {
  readonly id: string;
  readonly displayName: string;
  readonly type: "Production" | "Sandbox" | "Trial" | "Developer" | "Default";
  /** Azure geography as BAP writes it (e.g. "unitedstates"); default "unitedstates". */
  readonly location?: string;
  readonly createdAt?: IsoTime;
  /** Principals that may import solutions; a string means "since always". */
  readonly makers?: readonly (string | WorldPpPrincipalInterval)[];
}

export interface WorldPpPrincipalInterval {
  readonly principalId: string;
  readonly from?: IsoTime | null;
  readonly to?: IsoTime | null;
}

export interface WorldPpApp {
  readonly id: string;
  readonly environment: string;
  readonly displayName: string;
  readonly kind: "canvas" | "modelDriven";
  readonly createdBy: string;
  readonly createdAt: IsoTime;
  /** Owner history, back to back; default: createdBy from createdAt. */
  readonly owners?: readonly WorldPpPrincipalInterval[];
  /** Canvas apps only. */
  readonly coOwners?: readonly WorldPpPrincipalInterval[];
}

export interface WorldPpFlow {
  readonly id: string;
  readonly environment: string;
  readonly displayName: string;
  readonly createdBy: string;
  readonly createdAt: IsoTime;
  readonly state?: "Started" | "Stopped" | "Suspended";
  readonly owners?: readonly WorldPpPrincipalInterval[];
  /** Recorded (Set-AdminFlowOwnerRole CanEdit) but never attributed (decision 1). */
  readonly coOwners?: readonly WorldPpPrincipalInterval[];
}

export interface WorldPpSolution {
  readonly id: string;
  readonly uniqueName: string;
  readonly displayName?: string;
  readonly environment: string;
  readonly managed: boolean;
  readonly version?: string;
  readonly components: readonly { readonly type: "app" | "flow"; readonly id: string }[];
  /** Each import re-owns every component to `by` from `at`. */
  readonly imports?: readonly { readonly by: string; readonly at: IsoTime }[];
}

export interface WorldPpDataset {
  readonly id: string;
  readonly displayName: string;
  readonly publishedBy: string;
  readonly publishedAt: IsoTime;
  readonly takeovers?: readonly { readonly by: string; readonly at: IsoTime }[];
}

export interface WorldPpWorkspace {
  readonly id: string;
  readonly displayName: string;
  readonly members?: readonly (WorldPpPrincipalInterval & { readonly role: "Admin" | "Member" | "Contributor" | "Viewer" })[];
  readonly datasets?: readonly WorldPpDataset[];
}

export interface WorldCiInstance {
  readonly id: string;
  readonly displayName: string;
  readonly environment?: string;
  readonly users?: readonly (WorldPpPrincipalInterval & { readonly role: "Administrator" | "Contributor" | "Marketing Contributor" | "Viewer" })[];
}

export interface WorldPowerPlatform {
  readonly environments?: readonly WorldPpEnvironment[];
  readonly apps?: readonly WorldPpApp[];
  readonly flows?: readonly WorldPpFlow[];
  readonly solutions?: readonly WorldPpSolution[];
  readonly powerBi?: { readonly workspaces?: readonly WorldPpWorkspace[] };
  readonly customerInsights?: { readonly instances?: readonly WorldCiInstance[] };
}
