/* Leadgate site tracker: the pages a visitor who agreed reads, sent to the Leadgate server
   that served this script. Nothing is recorded (nor kept in the browser) before consent
   unless the snippet says data-consent="implied"; Do Not Track and Global Privacy Control
   turn it off entirely. Paste the snippet from Leadgate's settings page. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || (window.leadgate && window.leadgate.tracker)) return;
  var server = new URL(script.src, location.href).origin;
  var tracker = script.getAttribute("data-tracker");
  var implied = script.getAttribute("data-consent") === "implied";
  var KEY = "leadgate";
  var IDLE = 30 * 60 * 1000; // a new visit after 30 minutes without a page
  var refused =
    navigator.doNotTrack === "1" || window.doNotTrack === "1" || navigator.globalPrivacyControl === true;

  function load() {
    try {
      return JSON.parse(localStorage.getItem(KEY)) || {};
    } catch (e) {
      return {};
    }
  }
  function save(state) {
    try {
      localStorage.setItem(KEY, JSON.stringify(state));
    } catch (e) {}
  }
  function randomId() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }

  var state = load();
  var shownAt = Date.now();
  var visibleMs = 0;
  var visibleSince = document.visibilityState === "visible" ? shownAt : null;
  var view = null;
  var sent = false;

  // A link from a Leadgate email names the email; it leaves the address bar at once, so it
  // is not bookmarked, shared or sent on as a referrer.
  var email = null;
  try {
    var url = new URL(location.href);
    email = url.searchParams.get("lg_e");
    if (email) {
      url.searchParams.delete("lg_e");
      history.replaceState(history.state, "", url.toString());
    }
  } catch (e) {}

  function allowed() {
    return !refused && (state.consent === true || (implied && state.consent !== false));
  }

  function fillForms() {
    var inputs = document.querySelectorAll('input[name="_lgv"]');
    for (var i = 0; i < inputs.length; i++) inputs[i].value = allowed() ? state.visitor || "" : "";
  }

  function begin() {
    if (view || !allowed()) return;
    if (!state.visitor) state.visitor = randomId();
    if (!state.last || shownAt - state.last > IDLE) state.visit = (state.visit || 0) + 1;
    state.last = shownAt;
    save(state);
    view = {
      id: randomId(),
      url: location.href,
      title: document.title,
      referrer: document.referrer || undefined,
      at: shownAt,
      visit: state.visit
    };
    fillForms();
  }

  function send() {
    if (!view || sent || !allowed()) return;
    sent = true;
    if (visibleSince !== null) visibleMs += Date.now() - visibleSince;
    visibleSince = null;
    view.seconds = Math.round(visibleMs / 100) / 10;
    state.last = Date.now();
    save(state);
    var body = JSON.stringify({ tracker: tracker, visitor: state.visitor, email: email || undefined, views: [view] });
    var target = server + "/t/collect";
    var blob = new Blob([body], { type: "text/plain" });
    if (!(navigator.sendBeacon && navigator.sendBeacon(target, blob))) {
      fetch(target, { method: "POST", body: body, keepalive: true, mode: "no-cors", headers: { "Content-Type": "text/plain" } });
    }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      send();
    } else if (visibleSince === null) {
      visibleSince = Date.now();
    }
  });
  window.addEventListener("pagehide", send);
  document.addEventListener("DOMContentLoaded", fillForms);

  window.leadgate = {
    tracker: tracker,
    /** The site's consent banner calls this: true starts recording, false stops it and
        forgets the visitor's id in this browser. */
    consent: function (given) {
      if (given) {
        state.consent = true;
        save(state);
        begin();
      } else {
        view = null;
        state = { consent: false };
        save(state);
        fillForms();
      }
    },
    /** The visitor's id, once they agreed (forms send it as _lgv). */
    visitor: function () {
      return allowed() ? state.visitor || null : null;
    },
    /** Sends the current page now (a single-page site calls it before it changes page). */
    flush: send
  };
  begin();
})();
