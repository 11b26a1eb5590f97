import { type Browser, chromium } from "playwright-core";

/**
 * Debian's Chromium, headless, as root, on a machine with no outside network: without the
 * background-networking flags it keeps trying (and failing) to reach update and sync services.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
