/*
 * resolvekit web chat widget: one script tag, no build step, no dependencies.
 *
 *   <script src="https://support.example.com/widget.js" data-title="Acme support"
 *           data-customer-id="c-42" data-token="<customer token>" defer></script>
 *
 * Attributes (all optional): data-server (default: where widget.js came from), data-token (or
 * data-api-key; sent as "Authorization: Bearer ..."; never put a service API key in a page),
 * data-customer-id (default: an anonymous id kept in localStorage), data-title, data-open="true"
 * (start open), data-channel (default "web"), data-stream="false" (plain JSON turns instead of
 * server-sent events).
 *
 * While a person has the conversation the widget long-polls GET .../messages from its cursor, so
 * a human agent's replies (and the bot's words when it gets the conversation back) show up live.
 *
 * Everything lives in a shadow root, so the host page's CSS does not leak in and ours does not
 * leak out. Server text is only ever set as textContent (never parsed as HTML). See docs/widget.md.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script) return;
  var data = script.dataset;
  var scriptUrl = new URL(script.src || window.location.href, window.location.href);
  var server = (data.server || scriptUrl.origin).replace(/\/+$/, "");
  var title = data.title || "Support";
  var channel = data.channel || "web";
  var credential = data.token || data.apiKey || "";
  var streaming = data.stream !== "false";
  var RETRY_DELAYS = [500, 1000, 2000, 4000, 8000, 8000, 8000, 8000];
  var OFFLINE_CHECK = 30000; // offline: retry at the "online" event, or after this long
  // Failures worth a resend with the same message_id (the service runs it at most once).
  var RETRY_STATUS = { 408: true, 409: true, 429: true, 500: false, 502: true, 503: true, 504: true };
  var RETRY_CODES = { concurrent_update: true, store_unavailable: true, shutting_down: true };
  var FEED_WAIT = 25; // seconds the service may hold a long poll of GET .../messages

  var STRINGS = {
    open: "Open chat",
    close: "Close chat",
    log: "Conversation",
    input: "Type your message",
    send: "Send",
    you: "You",
    human: "You're now talking to a human",
    yes: "Yes",
    no: "No",
    person: "Support agent",
    support: "support", // a human agent's name is shown as "Alex (support)"
    back: "You're back with the assistant.",
    confirm: "Confirm",
    choices: "Quick replies",
    reconnecting: "Connection lost. Reconnecting\u2026",
    failed: "Your message could not be sent.",
    retry: "Retry",
    sources: "Sources",
    working: "Working on it: ",
    done: "Done: ",
  };

  // -- identity --------------------------------------------------------------------------------

  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return (b + 256).toString(16).slice(1);
      })
      .join("");
  }

  function customerId() {
    if (data.customerId) return data.customerId;
    var key = "resolvekit:customer:" + server;
    try {
      var kept = window.localStorage.getItem(key);
      if (kept) return kept;
      var made = "anon-" + newId();
      window.localStorage.setItem(key, made);
      return made;
    } catch (e) {
      // Storage refused (private mode, sandboxed frame): an id for this page only.
      return "anon-" + newId();
    }
  }

  var customer = customerId();

  // -- server-sent events over fetch (EventSource cannot POST) ---------------------------------

  /** Reads a text/event-stream body, calling onEvent(name, data) per event. */
  function readEvents(body, onEvent) {
    var reader = body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function dispatch(block) {
      var name = "message";
      var lines = [];
      block.split(/\r\n|\r|\n/).forEach(function (line) {
        if (!line || line.charAt(0) === ":") return;
        var colon = line.indexOf(":");
        var field = colon < 0 ? line : line.slice(0, colon);
        var value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = value;
        else if (field === "data") lines.push(value);
      });
      if (!lines.length) return;
      var payload = lines.join("\n");
      var parsed;
      try {
        parsed = JSON.parse(payload);
      } catch (e) {
        parsed = { text: payload };
      }
      onEvent(name, parsed);
    }
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) {
          buffer += decoder.decode();
          if (buffer.trim()) dispatch(buffer);
          return;
        }
        buffer += decoder.decode(chunk.value, { stream: true });
        var match;
        while ((match = /\r\n\r\n|\n\n|\r\r/.exec(buffer))) {
          dispatch(buffer.slice(0, match.index));
          buffer = buffer.slice(match.index + match[0].length);
        }
        return pump();
      });
    }
    return pump();
  }

  // -- DOM helpers -----------------------------------------------------------------------------

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "class") node.className = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  var CSS = [
    ":host{all:initial;position:fixed;right:20px;bottom:20px;z-index:2147483000;",
    "font:15px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2330}",
    "*{box-sizing:border-box;font:inherit}",
    ".rk-launcher{background:#2748d6;color:#fff;border:0;border-radius:24px;padding:12px 20px;",
    "cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);font-weight:600}",
    ".rk-panel{width:min(380px,calc(100vw - 40px));height:min(560px,calc(100vh - 40px));",
    "display:flex;flex-direction:column;background:#fff;border-radius:14px;overflow:hidden;",
    "box-shadow:0 8px 30px rgba(0,0,0,.25)}",
    ".rk-panel[hidden],.rk-launcher[hidden],[hidden]{display:none!important}",
    "header{display:flex;align-items:center;justify-content:space-between;background:#2748d6;",
    "color:#fff;padding:12px 14px}",
    "h2{margin:0;font-size:16px;font-weight:600}",
    ".rk-close{background:transparent;border:0;color:#fff;font-size:22px;line-height:1;",
    "cursor:pointer;padding:2px 8px;border-radius:6px}",
    ".rk-banner{background:#fff4d6;color:#5c4300;padding:8px 14px;font-weight:600;",
    "border-bottom:1px solid #f0d68a}",
    ".rk-log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;",
    "background:#f6f7fb}",
    ".rk-msg{position:relative;max-width:85%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;",
    "overflow-wrap:anywhere}",
    ".rk-customer{align-self:flex-end;background:#2748d6;color:#fff;border-bottom-right-radius:4px}",
    ".rk-agent{align-self:flex-start;background:#fff;border:1px solid #dde1ee;",
    "border-bottom-left-radius:4px}",
    ".rk-agent[aria-busy=true] .rk-text:empty::after{content:'\\2026';color:#6b7280}",
    ".rk-human{border:1px solid #1f8a5b;border-left-width:4px}",
    ".rk-from{display:block;font-size:12px;font-weight:600;color:#1f6b49;margin-bottom:2px}",
    ".rk-sending{opacity:.65}",
    ".rk-activity{align-self:flex-start;color:#5b6275;font-size:13px;font-style:italic}",
    ".rk-note{align-self:center;color:#8a1c1c;font-size:13px;display:flex;gap:8px;",
    "align-items:center}",
    ".rk-choices{display:flex;flex-wrap:wrap;gap:6px;align-self:flex-start}",
    ".rk-choices button,.rk-note button{border:1px solid #2748d6;background:#fff;color:#2748d6;",
    "border-radius:16px;padding:5px 14px;cursor:pointer;font-weight:600}",
    ".rk-choices button.rk-primary{background:#2748d6;color:#fff}",
    ".rk-choices button:disabled{opacity:.5;cursor:default}",
    ".rk-choices button[aria-pressed=true]{opacity:1;background:#2748d6;color:#fff}",
    ".rk-choices button:not(.rk-primary)[aria-pressed=true]{background:#5b6275;border-color:#5b6275}",
    ".rk-sources{margin-top:6px;font-size:13px;color:#5b6275}",
    ".rk-sources a{color:#2748d6}",
    ".rk-status{padding:0 14px;font-size:13px;color:#8a4b00;min-height:0}",
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #e3e6ef}",
    "textarea{flex:1;resize:none;border:1px solid #c9cfdf;border-radius:10px;padding:8px 10px;",
    "height:42px;max-height:120px}",
    ".rk-send{background:#2748d6;color:#fff;border:0;border-radius:10px;padding:0 16px;",
    "cursor:pointer;font-weight:600}",
    "button:focus-visible,textarea:focus-visible,a:focus-visible,.rk-log:focus-visible{",
    "outline:3px solid #ffbf47;outline-offset:2px}",
    ".rk-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);",
    "white-space:nowrap}",
  ].join("");

  // -- the widget ------------------------------------------------------------------------------

  var host = el("resolvekit-chat", {});
  var root = host.attachShadow({ mode: "open" });
  root.appendChild(el("style", {}, CSS));

  var launcher = el("button", { class: "rk-launcher", type: "button", "aria-expanded": "false" });
  launcher.textContent = title;
  launcher.setAttribute("aria-label", STRINGS.open + ": " + title);

  var titleId = "rk-title";
  var panel = el("section", { class: "rk-panel", role: "dialog", "aria-labelledby": titleId });
  panel.hidden = true;
  var header = el("header");
  header.appendChild(el("h2", { id: titleId }, title));
  var closeButton = el("button", { class: "rk-close", type: "button", "aria-label": STRINGS.close });
  closeButton.textContent = "\u00d7";
  header.appendChild(closeButton);
  var banner = el("div", { class: "rk-banner", role: "status" });
  banner.hidden = true;
  var log = el("div", {
    class: "rk-log",
    role: "log",
    "aria-live": "polite",
    "aria-label": STRINGS.log,
    tabindex: "0",
  });
  var status = el("div", { class: "rk-status", role: "status", "aria-live": "polite" });
  var form = el("form", { "aria-label": STRINGS.input });
  var label = el("label", { for: "rk-input", class: "rk-sr" }, STRINGS.input);
  var input = el("textarea", { id: "rk-input", rows: "1", placeholder: STRINGS.input + "\u2026" });
  var sendButton = el("button", { class: "rk-send", type: "submit" }, STRINGS.send);
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(sendButton);
  [header, banner, log, status, form].forEach(function (node) {
    panel.appendChild(node);
  });
  root.appendChild(launcher);
  root.appendChild(panel);

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function add(node) {
    log.appendChild(node);
    scrollDown();
    return node;
  }

  function setOpen(open, moveFocus) {
    panel.hidden = !open;
    launcher.hidden = open;
    launcher.setAttribute("aria-expanded", String(open));
    if (moveFocus === false) return;
    if (open) input.focus();
    else launcher.focus();
  }

  launcher.addEventListener("click", function () {
    setOpen(true);
  });
  closeButton.addEventListener("click", function () {
    setOpen(false);
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      setOpen(false);
    }
  });

  // -- rendering a turn ------------------------------------------------------------------------

  var answered = {}; // question ids already answered, so their buttons stay disabled
  var shownQuestions = {}; // question ids whose buttons are on screen

  /** Disables every open choice (quick replies, confirmation buttons): one answer per question. */
  function closeChoices() {
    Array.prototype.forEach.call(log.querySelectorAll(".rk-choices button"), function (button) {
      button.disabled = true;
    });
  }

  function choices(labelText, items, questionId) {
    var group = el("div", { class: "rk-choices", role: "group", "aria-label": labelText });
    items.forEach(function (item) {
      var button = el("button", { type: "button" }, item.label);
      if (item.primary) button.className = "rk-primary";
      button.addEventListener("click", function () {
        if (questionId) answered[questionId] = true;
        button.setAttribute("aria-pressed", "true");
        closeChoices();
        // The pressed button is now disabled: keyboard focus goes back to the message box.
        input.focus();
        send(item.text, questionId);
      });
      group.appendChild(button);
    });
    return add(group);
  }

  function showConfirmation(questionId, prompt) {
    if (!questionId || shownQuestions[questionId] || answered[questionId]) return;
    shownQuestions[questionId] = true;
    // The group is named by the question, so a screen reader says what Yes and No answer.
    choices(
      prompt || STRINGS.confirm,
      [
        { label: STRINGS.yes, text: "yes", primary: true },
        { label: STRINGS.no, text: "no" },
      ],
      questionId
    );
  }

  function showOptions(options, questionId) {
    var key = "options:" + (questionId || newId());
    if (!options || !options.length || shownQuestions[key]) return;
    shownQuestions[key] = true;
    choices(
      STRINGS.choices,
      options.map(function (option) {
        var text = typeof option === "string" ? option : option.label || option.value;
        return { label: text, text: (option && option.value) || text };
      }),
      questionId
    );
  }

  function citationLink(citation) {
    var name = citation.title || citation.heading || citation.doc_id || "source";
    if (citation.heading && citation.title && citation.heading !== citation.title) {
      name = citation.title + " \u2013 " + citation.heading;
    }
    var href = citation.url || citation.source || "";
    // Only web addresses are links: a knowledge source may be a file path on the server.
    if (/^https?:\/\//i.test(href)) {
      return el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, name);
    }
    return el("span", {}, name);
  }

  function showCitations(bubble, citations) {
    if (!citations || !citations.length || bubble.querySelector(".rk-sources")) return;
    var box = el("div", { class: "rk-sources" });
    box.appendChild(document.createTextNode(STRINGS.sources + ": "));
    citations.forEach(function (citation, i) {
      if (i) box.appendChild(document.createTextNode(", "));
      box.appendChild(citationLink(citation));
    });
    bubble.appendChild(box);
  }

  function showHandoff() {
    banner.textContent = STRINGS.human;
    banner.hidden = false;
    panel.classList.add("rk-with-human");
    startFeed();
  }

  /** The conversation is the bot's again: the banner goes, and a screen reader is told. */
  function clearHandoff() {
    if (banner.hidden) return;
    banner.hidden = true;
    panel.classList.remove("rk-with-human");
    status.textContent = STRINGS.back;
  }

  /** A message bubble; a screen reader hears who said it ("You: ...", "Acme support: ...").
   * A human agent's bubble shows their name: "Alex (support)". */
  function message(role, text, author) {
    var bubble = el("div", { class: "rk-msg " + (role === "customer" ? "rk-customer" : "rk-agent") });
    if (role === "human_agent") {
      bubble.classList.add("rk-human");
      var name = author ? author + " (" + STRINGS.support + ")" : STRINGS.person;
      var from = el("span", { class: "rk-from" }, name);
      bubble.appendChild(from);
      bubble.appendChild(el("span", { class: "rk-sr" }, ": "));
    } else {
      var who = role === "customer" ? STRINGS.you : title;
      bubble.appendChild(el("span", { class: "rk-sr" }, who + ": "));
    }
    bubble.appendChild(el("span", { class: "rk-text" }, text));
    if (role !== "customer") bubble.setAttribute("aria-busy", "false");
    return bubble;
  }

  function setText(bubble, text) {
    bubble.querySelector(".rk-text").textContent = text;
  }

  /** One exchange on screen: the customer's bubble, then the agent's as it streams in. */
  function Exchange(text) {
    this.customerBubble = add(message("customer", text));
    this.customerBubble.classList.add("rk-sending");
    this.reply = null;
    this.text = "";
    this.draft = "";
    this.activity = null;
  }

  Exchange.prototype.bubble = function () {
    if (!this.reply) {
      this.reply = add(message("agent", ""));
      this.reply.setAttribute("aria-busy", "true");
    }
    return this.reply;
  };

  /** Forgets what a broken attempt showed: the resend gets the whole reply again. */
  Exchange.prototype.reset = function () {
    if (this.reply) this.reply.remove();
    if (this.activity) this.activity.remove();
    this.reply = null;
    this.activity = null;
    this.text = "";
    this.draft = "";
  };

  Exchange.prototype.event = function (name, payload) {
    payload = payload || {};
    if (name === "delta") {
      this.customerBubble.classList.remove("rk-sending");
      // The reply is the deltas joined by newlines (docs/serving.md); a delta replaces the
      // provisional token text shown before it.
      var piece = payload.text || "";
      this.draft = "";
      this.text = this.text ? this.text + "\n" + piece : piece;
      setText(this.bubble(), this.text);
      scrollDown();
    } else if (name === "token") {
      // Text the model is still writing: shown after the reply so far, until a delta
      // replaces it or a retract drops it.
      this.customerBubble.classList.remove("rk-sending");
      this.draft += payload.text || "";
      setText(this.bubble(), this.text ? this.text + "\n" + this.draft : this.draft);
      scrollDown();
    } else if (name === "retract") {
      this.draft = "";
      if (this.reply && this.text) {
        setText(this.reply, this.text);
      } else if (this.reply) {
        this.reply.remove();
        this.reply = null;
      }
    } else if (name === "tool_started" || name === "tool_finished") {
      this.customerBubble.classList.remove("rk-sending");
      if (!this.activity) {
        this.activity = add(el("div", { class: "rk-activity", role: "status" }));
      }
      var tool = payload.title || payload.tool || payload.name || "";
      this.activity.textContent =
        (name === "tool_started" ? STRINGS.working : STRINGS.done) + tool.replace(/_/g, " ");
    } else if (name === "confirmation") {
      this.pendingConfirmation = payload;
    } else if (name === "escalated") {
      showHandoff();
    } else if (name === "done" || name === "result") {
      this.finish(payload.result || payload);
    } else if (name === "error") {
      throw new TurnError(payload.message || payload.code || "error", RETRY_CODES[payload.code] === true);
    }
  };

  /** The turn's result: fills in what the stream did not show and adds buttons. */
  Exchange.prototype.finish = function (result) {
    this.customerBubble.classList.remove("rk-sending");
    if (this.activity) {
      this.activity.remove();
      this.activity = null;
    }
    var bubble = this.bubble();
    var drafted = this.draft;
    this.draft = "";
    if (result.reply && this.text !== result.reply) {
      this.text = result.reply;
      setText(bubble, result.reply);
    } else if (drafted) {
      setText(bubble, this.text); // the result wins over provisional text
    }
    bubble.setAttribute("aria-busy", "false");
    showCitations(bubble, result.citations);
    var confirmation = this.pendingConfirmation || {};
    var questionId = result.question_id || confirmation.question_id;
    var pending = result.pending || (this.pendingConfirmation ? "confirm" : null);
    if (pending === "confirm" || pending === "tool_confirm" || pending === "resume") {
      showConfirmation(questionId, confirmation.prompt || result.reply || "");
    } else if (result.options && result.options.length) {
      showOptions(result.options, questionId);
    }
    if (result.handoff || result.outcome === "escalated") showHandoff();
    this.done = true;
    scrollDown();
  };

  function TurnError(message, retryable) {
    this.message = message;
    this.retryable = retryable;
  }

  // -- sending, with resend on network failure -------------------------------------------------

  var queue = [];
  var busy = false;

  function headers(accept) {
    var out = { "Content-Type": "application/json", Accept: accept };
    if (credential) out.Authorization = "Bearer " + credential;
    return out;
  }

  var customerUrl = server + "/v1/customers/" + encodeURIComponent(customer);

  function url() {
    return customerUrl + (streaming ? "/messages/stream" : "/messages");
  }

  /** One attempt: POST the message and render the response; rejects with a TurnError. */
  function attempt(item) {
    var body = { text: item.text, message_id: item.messageId, channel: channel };
    if (item.replyTo) body.reply_to = item.replyTo;
    var exchange = item.exchange;
    return fetch(url(), {
      method: "POST",
      headers: headers(streaming ? "text/event-stream" : "application/json"),
      body: JSON.stringify(body),
      cache: "no-store",
    })
      .catch(function (error) {
        throw new TurnError(String(error && error.message), true);
      })
      .then(function (response) {
        if (!response.ok) {
          var retryable = RETRY_STATUS[response.status] === true;
          return response
            .json()
            .catch(function () {
              return {};
            })
            .then(function (problem) {
              var detail = problem.detail || problem.error || problem.message || response.statusText;
              if (detail && typeof detail === "object") detail = detail.message || JSON.stringify(detail);
              throw new TurnError(String(detail || "HTTP " + response.status), retryable);
            });
        }
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("text/event-stream") < 0 || !response.body) {
          return response.json().then(function (result) {
            exchange.finish(result);
          });
        }
        return readEvents(response.body, function (name, payload) {
          exchange.event(name, payload);
        }).then(
          function () {
            if (!exchange.done) throw new TurnError("the stream ended early", true);
          },
          function (error) {
            // A connection dropped after the result arrived loses nothing.
            if (exchange.done) return;
            if (error instanceof TurnError) throw error;
            throw new TurnError(String(error && error.message), true);
          }
        );
      });
  }

  function wait(ms) {
    return new Promise(function (resolve) {
      var timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        window.removeEventListener("online", done);
        resolve();
      }
      window.addEventListener("online", done);
    });
  }

  function deliver(item, tries) {
    return attempt(item).then(
      function () {
        status.textContent = "";
      },
      function (error) {
        // While the browser knows it is offline, waiting for the network costs no attempt.
        var offline = navigator.onLine === false;
        if (error.retryable && (offline || tries < RETRY_DELAYS.length)) {
          status.textContent = STRINGS.reconnecting;
          item.exchange.reset();
          return wait(offline ? OFFLINE_CHECK : RETRY_DELAYS[tries]).then(function () {
            return deliver(item, offline ? tries : tries + 1);
          });
        }
        status.textContent = "";
        item.exchange.reset();
        failed(item, error);
      }
    );
  }

  function failed(item, error) {
    item.exchange.customerBubble.classList.remove("rk-sending");
    var note = add(el("div", { class: "rk-note", role: "alert" }));
    note.appendChild(el("span", {}, STRINGS.failed + (error.message ? " (" + error.message + ")" : "")));
    if (error.retryable) {
      var retry = el("button", { type: "button" }, STRINGS.retry);
      retry.addEventListener("click", function () {
        note.remove();
        queue.push(item); // the same message_id: the server runs it at most once
        pump();
      });
      note.appendChild(retry);
    }
  }

  function pump() {
    if (busy || restoring || !queue.length) return;
    busy = true;
    var item = queue.shift();
    deliver(item, 0).then(function () {
      busy = false;
      pump();
    });
  }

  /** Sends a customer message (replyTo: the question id a button answers). */
  function send(text, replyTo) {
    text = String(text || "").trim();
    if (!text) return;
    closeChoices();
    var messageId = newId();
    ownIds[messageId] = true; // its lines in the message feed are on screen already
    var exchange = new Exchange(text);
    queue.push({ text: text, messageId: messageId, replyTo: replyTo || null, exchange: exchange });
    pump();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    input.value = "";
    send(text);
    input.focus();
  });
  input.addEventListener("keydown", function (event) {
    // Enter sends; Shift+Enter is a new line.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
    }
  });

  // -- the message feed: what a person (or the bot, handed back) writes meanwhile -------------

  var ownIds = {}; // message ids sent from this page: their lines are on screen already
  var feed = { cursor: null, running: false, failures: 0 };

  /** Shows the open question a page of the feed ends with (the hand-back's "shall we go on?"). */
  function showPending(pending) {
    if (!pending || !pending.question_id) return;
    if (pending.kind === "confirm" || pending.kind === "tool_confirm" || pending.kind === "resume") {
      showConfirmation(pending.question_id, pending.question || "");
    } else {
      showOptions(pending.options, pending.question_id);
    }
  }

  /** One long poll from the cursor; resolves true while the feed should go on. */
  function poll() {
    var query = "?wait=" + FEED_WAIT + (feed.cursor ? "&after=" + encodeURIComponent(feed.cursor) : "");
    var options = { headers: headers("application/json"), cache: "no-store" };
    return fetch(customerUrl + "/messages" + query, options)
      .then(function (response) {
        if (response.status === 400) {
          feed.cursor = null; // refused (it cannot be one the service gave): start over
          throw new TurnError("invalid cursor", true);
        }
        if (!response.ok) throw new TurnError("HTTP " + response.status, true);
        return response.json();
      })
      .then(function (page) {
        (page.messages || []).forEach(function (line) {
          if (line.message_id && ownIds[line.message_id]) return;
          add(message(line.role, line.text, line.author));
        });
        if (page.cursor) feed.cursor = page.cursor;
        if (page.more) return true;
        if (page.status === "handed_off") return true;
        clearHandoff(); // handed back (or closed since)
        showPending(page.pending);
        return false;
      });
  }

  /** Long-polls while a person has the conversation; a dropped connection resumes from the
   * cursor (nothing shown twice, nothing missed). */
  function startFeed() {
    if (feed.running) return;
    feed.running = true;
    (function next() {
      poll().then(
        function (goOn) {
          feed.failures = 0;
          if (status.textContent === STRINGS.reconnecting && !busy) status.textContent = "";
          if (goOn) next();
          else feed.running = false;
        },
        function () {
          var delay = RETRY_DELAYS[Math.min(feed.failures, RETRY_DELAYS.length - 1)];
          feed.failures += 1;
          if (feed.failures > 1) status.textContent = STRINGS.reconnecting;
          wait(navigator.onLine === false ? OFFLINE_CHECK : delay).then(next);
        }
      );
    })();
  }

  // -- picking up where the customer left off (a reload, another tab) ------------------------

  var restoring = true;

  /** Shows the open conversation kept by the service: its lines, its open question's buttons,
   * the human banner. Messages typed meanwhile wait, then follow it. */
  function restore() {
    return fetch(customerUrl + "/conversation", {
      headers: headers("application/json"),
      cache: "no-store",
    })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (conversation) {
        if (!conversation) return;
        var first = log.firstChild;
        if (conversation.cursor && !feed.cursor) feed.cursor = conversation.cursor;
        (conversation.transcript || []).forEach(function (line) {
          if (["customer", "agent", "human_agent"].indexOf(line.role) < 0) return;
          var bubble = message(line.role, line.text, line.author);
          bubble.classList.add("rk-history");
          log.insertBefore(bubble, first);
        });
        var pending = conversation.pending;
        if (!first && pending && pending.question_id) {
          if (pending.kind === "confirm" || pending.kind === "tool_confirm" || pending.kind === "resume") {
            showConfirmation(pending.question_id, pending.question || "");
          } else {
            showOptions(pending.options, pending.question_id);
          }
        }
        if (conversation.status === "handed_off") showHandoff();
        scrollDown();
      })
      .catch(function () {
        // Nothing to show (no network yet): the next message goes through the usual resend.
      })
      .then(function () {
        restoring = false;
        pump();
      });
  }

  function mount() {
    document.body.appendChild(host);
    // Open from the start, but without taking the focus from the page.
    if (data.open === "true") setOpen(true, false);
    restore();
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  window.resolvekit = window.resolvekit || {};
  window.resolvekit.widget = {
    open: function () {
      setOpen(true);
    },
    close: function () {
      setOpen(false);
    },
    send: function (text) {
      send(text);
    },
    customerId: customer,
  };
})();
