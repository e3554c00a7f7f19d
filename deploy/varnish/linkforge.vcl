vcl 4.1;
# Varnish in front of Linkforge. The origin decides what is cacheable (Cache-Control with
# s-maxage, Surrogate-Key); this VCL adds purging by key (vmod xkey, from varnish-modules),
# purging by path, and the bits the edge-log click counter needs.

import std;
import xkey;

backend default {
    .host = "127.0.0.1";
    .port = "3000";
}

# Who may purge: the Linkforge instances. Keep it to your private network.
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (req.http.xkey-purge) {
            # Hard purge: objects tagged with any of the keys are gone at once, grace included.
            set req.http.n-gone = xkey.purge(req.http.xkey-purge);
            return (synth(200, "Purged " + req.http.n-gone));
        }
        return (purge);
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # The API, GraphQL and anything authenticated is never cached.
    if (req.url ~ "^/(api|graphql|metrics|readyz|healthz)" || req.http.Authorization) {
        return (pass);
    }
    # Link-preview crawlers get an OpenGraph page instead of the redirect: that answer varies by
    # user agent, so the origin gives it to them uncached.
    if (req.http.User-Agent ~ "(?i)facebookexternalhit|facebot|twitterbot|linkedinbot|slackbot|discordbot|telegrambot|whatsapp|skypeuripreview|pinterest|redditbot|mastodon|bluesky") {
        return (pass);
    }
    # Public pages do not depend on cookies (the dashboard's session only matters to /api).
    unset req.http.Cookie;
    return (hash);
}

sub vcl_backend_response {
    # Cache only what the origin explicitly allows at a shared cache; everything else passes.
    if (beresp.http.Cache-Control !~ "(s-maxage|public)" || beresp.http.Cache-Control ~ "(private|no-store)") {
        set beresp.uncacheable = true;
        set beresp.ttl = 120s;
        return (deliver);
    }
    if (beresp.http.Surrogate-Key) {
        set beresp.http.xkey = beresp.http.Surrogate-Key;
    }
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    # The origin counted this click itself (links with an expiry or a click cap): tell the
    # edge-log counter not to count it again.
    if (resp.http.X-Linkforge-Counted) {
        std.log("lf_counted:1");
        unset resp.http.X-Linkforge-Counted;
    }
    unset resp.http.xkey;
    unset resp.http.Surrogate-Key;
    unset resp.http.Surrogate-Control;
    unset resp.http.Cache-Tag;
    # Browsers must come back to the edge for every click: that is where clicks are logged.
    if (resp.status >= 301 && resp.status <= 308) {
        set resp.http.Cache-Control = "private, no-store";
    }
}
