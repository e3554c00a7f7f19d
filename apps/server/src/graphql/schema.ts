/** GraphQL schema of the read API over links and analytics. */
export const typeDefs = /* GraphQL */ `
  enum Interval {
    hour
    day
  }

  enum LinkStatus {
    active
    expired
    exhausted
    deleted
  }

  type Query {
    "One link of the workspace by code (null when there is none)."
    link(code: String!): Link
    "Links of the workspace, newest first (keyset pagination)."
    links(first: Int = 20, after: String, search: String, tag: String): LinkPage!
    "Click analytics of the whole workspace. Dates are ISO 8601; bots are excluded by default."
    analytics(
      from: String
      to: String
      interval: Interval = day
      includeBots: Boolean = false
      top: Int = 10
    ): Analytics!
  }

  type LinkPage {
    nodes: [Link!]!
    "Pass as 'after' for the next page; null on the last page."
    nextCursor: String
  }

  type Link {
    code: String!
    shortUrl: String!
    url: String!
    alias: Boolean!
    title: String
    tags: [String!]!
    redirectType: Int!
    expiresAt: String
    maxClicks: Int
    "Redirects counted so far (all time, from the click counter)."
    clicks: Float!
    status: LinkStatus!
    createdAt: String!
    updatedAt: String!
    "Clicks and daily unique visitors of the last 'days' UTC days (batched across links)."
    stats(days: Int = 30, includeBots: Boolean = false): LinkStats!
    "Full click analytics of this link."
    analytics(
      from: String
      to: String
      interval: Interval = day
      includeBots: Boolean = false
      top: Int = 10
    ): Analytics!
  }

  type LinkStats {
    clicks: Float!
    uniqueVisitors: Float!
  }

  type Totals {
    clicks: Float!
    uniqueVisitors: Float!
  }

  type Point {
    t: String!
    clicks: Float!
  }

  type ValueCount {
    value: String!
    clicks: Float!
  }

  type Analytics {
    totals: Totals!
    series: [Point!]!
    referrers: [ValueCount!]!
    countries: [ValueCount!]!
    devices: [ValueCount!]!
    browsers: [ValueCount!]!
    os: [ValueCount!]!
  }
`;
