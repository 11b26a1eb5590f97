import { readSnapshot, resetStore, type StoreSnapshot } from "@weather/store";
import Valkey from "iovalkey";

/** A store client on a logical DB of the test file's own; reset() removes only the project's keys there. */
export class TestStore {
  readonly client: Valkey;
  constructor(readonly url: string) {
    this.client = new Valkey(url, { lazyConnect: false, maxRetriesPerRequest: 2 });
  }
  snapshot(): Promise<StoreSnapshot> {
    return readSnapshot(this.client);
  }
  reset(): Promise<void> {
    return resetStore(this.client);
  }
  async close(): Promise<void> {
    await this.reset().catch(() => {});
    await this.client.quit().catch(() => {});
  }
}
