/**
 * User-Agent fragments of the link-preview fetchers of social networks and chat apps. These
 * bots read OpenGraph tags from the page they are given and do not follow redirects to the
 * target the way people do. Left out on purpose: search-engine crawlers (for them the
 * redirect itself is right) and apps whose in-app browsers carry their name (LINE, Snapchat,
 * Teams …), since a person behind such a browser must get the redirect.
 */
const PREVIEW_BOTS = [
  'facebookexternalhit',
  'facebookcatalog',
  'facebot',
  'meta-externalagent',
  'twitterbot',
  'linkedinbot',
  'slackbot',
  'slack-imgproxy',
  'discordbot',
  'telegrambot',
  'whatsapp',
  'skypeuripreview',
  'microsoftpreview',
  'pinterestbot',
  'pinterest/',
  'redditbot',
  'tumblr',
  'embedly',
  'iframely',
  'vkshare',
  'mastodon',
  'bluesky',
  'cardyb',
  'kakaotalk-scrap',
  'mattermost',
  'rocket.chat',
  'nextcloud server crawler',
];

const PATTERN = new RegExp(
  PREVIEW_BOTS.map((bot) => bot.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'),
  'i',
);

/**
 * Whether a request comes from a link-preview bot (Facebook, X/Twitter, LinkedIn, Slack,
 * Discord, Telegram, WhatsApp, iMessage, Teams, Mastodon, Bluesky …) that should get an HTML
 * page with OpenGraph tags rather than a redirect.
 *
 * @example
 * isLinkPreviewBot('facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)'); // true
 * isLinkPreviewBot('Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0'); // false
 */
export function isLinkPreviewBot(userAgent: string | undefined): boolean {
  if (userAgent === undefined || userAgent === '') return false;
  return PATTERN.test(userAgent.slice(0, 1024));
}
