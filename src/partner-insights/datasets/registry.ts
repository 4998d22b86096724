/**
 * The dataset registry. AzureUsage, Profile and BusinessApplicationsUsage are registered by the
 * component; another component may register more with `register` before the server listens.
 * Names are case-insensitive.
 */
import type { Dataset, SystemQuery } from "./dataset.ts";

export class DatasetRegistry {
  readonly #byName = new Map<string, Dataset>();

  register(dataset: Dataset): this {
    const key = dataset.name.toLowerCase();
    if (this.#byName.has(key)) throw new Error(`dataset ${dataset.name} is registered twice`);
    this.#byName.set(key, dataset);
    return this;
  }
  get(name: string): Dataset | undefined {
    return this.#byName.get(name.toLowerCase());
  }
  list(): Dataset[] {
    return [...this.#byName.values()];
  }
  systemQueries(): (SystemQuery & { dataset: string })[] {
    return this.list().flatMap((d) => d.systemQueries.map((q) => ({ ...q, dataset: d.name })));
  }
}
