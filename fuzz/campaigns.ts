/**
 * The campaigns by name, as `deno task fuzz --campaign` takes them.
 * @module
 */
import { apiCampaign } from "./api/mod.ts";
import type { Campaign } from "./campaign.ts";
import { elfCampaign } from "./elf/mod.ts";
import { programsCampaign } from "./programs/mod.ts";

/** Every campaign, in the order `deno task fuzz` runs them. */
export const CAMPAIGNS: Record<string, Campaign<unknown>> = {
  programs: programsCampaign as Campaign<unknown>,
  elf: elfCampaign as Campaign<unknown>,
  api: apiCampaign as Campaign<unknown>,
};

/** The campaign called `name`, or a RangeError listing the names. */
export function campaignNamed(name: string): Campaign<unknown> {
  const campaign = Object.hasOwn(CAMPAIGNS, name) ? CAMPAIGNS[name] : undefined;
  if (!campaign) {
    throw new RangeError(
      `no campaign ${JSON.stringify(name)} (${Object.keys(CAMPAIGNS).join(", ")})`,
    );
  }
  return campaign;
}
