"use strict";
// The sandbox console's one script. It fills in the page the sandbox served from the sandbox's
// own controls (spec/sandbox.openapi.yaml), with the browser's credentials, and keeps it
// current by asking again every second or two. Every value is shown as text: elements are
// built with createElement and textContent, never from markup, so a customer id or an
// extensionData value cannot become part of the page.

(() => {
  const ENTITLEMENT_PAGE_SECONDS = 1;
  const LIST_PAGE_SECONDS = 2;
  const CLOCK_SECONDS = 5;
  const STEP_UNITS = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

  // -- talking to the sandbox ------------------------------------------------------------

  class SandboxError extends Error {
    constructor(status, document) {
      const message = (document && document.responseMessage) || `HTTP ${status}`;
      super(message);
      this.status = status;
      this.code = document && document.responseCode;
    }
  }

  // GET a control's JSON answer; the text too, so that a caller can tell "nothing changed".
  async function read(path) {
    const response = await fetch(path, { headers: { Accept: "application/json" } });
    const text = await response.text();
    const document = parse(text);
    if (!response.ok) throw new SandboxError(response.status, document);
    return { text, document };
  }

  // POST to a control: a JSON body when there is one, none otherwise.
  async function write(path, body) {
    const options = { method: "POST", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    const document = parse(await response.text());
    if (!response.ok) throw new SandboxError(response.status, document);
    return document;
  }

  function parse(text) {
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  }

  function query(parameters) {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(parameters)) {
      if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
    }
    const text = search.toString();
    return text ? `?${text}` : "";
  }

  // -- building the page -----------------------------------------------------------------

  // An element with attributes (set one by one, never as markup) and children: nodes, or
  // strings that become text nodes.
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "className") node.className = value;
      else if (name === "onclick") node.addEventListener("click", value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  function replaceChildren(node, children) {
    node.replaceChildren();
    append(node, children);
  }

  function entitlementLink(id) {
    return el("a", { href: `/sandbox/console/entitlements/${encodeURIComponent(id)}` }, id);
  }

  function statusBadge(status) {
    return el("span", { className: `status status-${String(status).toLowerCase()}` }, status);
  }

  // "2026-11-23T09:30:00.001Z" shown as "2026-11-23 09:30:00.001" (UTC, as the sandbox says).
  function time(iso) {
    if (!iso) return el("span", { className: "none" }, "—");
    const shown = String(iso).replace("T", " ").replace(/Z$/, "");
    return el("time", { datetime: iso, title: `${iso} (UTC)` }, shown);
  }

  function notice(text, kind) {
    const box = document.getElementById("notice");
    box.textContent = text;
    box.className = `notice ${kind || ""}`;
    box.hidden = !text;
  }

  function failed(error) {
    if (error instanceof SandboxError) {
      notice(`${error.code || `HTTP ${error.status}`}: ${error.message}`, "error");
    } else {
      notice(`The sandbox does not answer (${error.message}); trying again.`, "error");
    }
  }

  // Run `refresh` now and every `seconds` while the page is visible; `refresh` returns a
  // promise, and a slow answer is never overtaken by the next question.
  function every(seconds, refresh) {
    let running = false;
    const tick = async () => {
      if (running || document.hidden) return;
      running = true;
      try {
        await refresh();
      } catch (error) {
        failed(error);
      } finally {
        running = false;
      }
    };
    tick();
    setInterval(tick, seconds * 1000);
    document.addEventListener("visibilitychange", tick);
    return tick;
  }

  // -- the clock, on every page ----------------------------------------------------------

  function startClock() {
    const now = document.getElementById("clock-now");
    const offset = document.getElementById("clock-offset");
    const refresh = async () => {
      const { document: clock } = await read("/sandbox/clock");
      replaceChildren(now, [time(clock.now)]);
      const ahead = Number(clock.offsetSeconds);
      offset.textContent = Math.abs(ahead) < 1 ? "(real time)" : `(${duration(ahead)} ahead)`;
    };
    const tick = every(CLOCK_SECONDS, refresh);
    document.getElementById("clock").addEventListener("submit", async (event) => {
      event.preventDefault();
      const step = document.getElementById("clock-step").value;
      const seconds = stepSeconds(step);
      if (seconds === null) {
        notice(`Advance by: ${JSON.stringify(step)} is not 90s, 15m, 2h, 1d or 1w`, "error");
        return;
      }
      try {
        const answer = await write("/sandbox/clock/advance", { seconds });
        notice(answer.responseMessage, "done");
        await tick();
        refreshPage();
      } catch (error) {
        failed(error);
      }
    });
  }

  function stepSeconds(text) {
    const found = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([smhdw]?)\s*$/.exec(text);
    if (!found) return null;
    const seconds = Number(found[1]) * STEP_UNITS[found[2] || "s"];
    return seconds > 0 ? seconds : null;
  }

  function duration(seconds) {
    const units = [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]];
    let left = Math.round(Math.abs(seconds));
    const parts = [];
    for (const [name, size] of units) {
      if (left >= size || (name === "s" && parts.length === 0)) {
        parts.push(`${Math.floor(left / size)}${name}`);
        left %= size;
      }
      if (parts.length === 2) break;
    }
    return parts.join(" ");
  }

  // What the page shows, asked again at once (after an action of this page).
  let refreshPage = () => {};

  // -- the list of entitlements ----------------------------------------------------------

  function entitlementsPage() {
    const filters = new URLSearchParams(location.search);
    const status = filters.get("status") || "";
    const customer = filters.get("customer") || "";
    document.getElementById("filter-status").value = status;
    document.getElementById("filter-customer").value = customer;
    const body = document.querySelector("#entitlements tbody");
    const more = document.getElementById("more");
    const empty = document.getElementById("empty");
    let newest = null; // the first page's text, as last shown
    let older = []; // records of the pages shown with "Show older"
    let cursor = null; // where the next older page starts

    const render = (records) => {
      replaceChildren(
        body,
        records.map((record) =>
          el(
            "tr",
            {},
            el("td", {}, time(record.dateCreated)),
            el("td", { className: "id" }, entitlementLink(record.entitlementId)),
            el("td", {}, statusBadge(record.status)),
            el("td", { className: "id" }, record.customerIdentifier),
            el("td", {}, `${record.merchantAccountKey} / ${record.productKey}`),
            el("td", {}, time(record.dateLastUpdated)),
          ),
        ),
      );
      empty.hidden = records.length > 0;
    };
    let first = [];
    const address = (before) =>
      `/sandbox/entitlements${query({ status, customerIdentifier: customer, before, limit: 100 })}`;
    const refresh = async () => {
      const { text, document: page } = await read(address());
      if (text === newest) return;
      newest = text;
      first = page.entitlements;
      if (!older.length) cursor = page.nextCursor;
      more.hidden = cursor === null;
      render([...first, ...older]);
    };
    more.addEventListener("click", async () => {
      try {
        const { document: page } = await read(address(cursor));
        older = [...older, ...page.entitlements];
        cursor = page.nextCursor;
        more.hidden = cursor === null;
        render([...first, ...older]);
      } catch (error) {
        failed(error);
      }
    });
    refreshPage = every(LIST_PAGE_SECONDS, refresh);
  }

  // -- one entitlement -------------------------------------------------------------------

  function entitlementPage() {
    const id = document.body.dataset.entitlementId;
    const base = `/sandbox/entitlements/${encodeURIComponent(id)}`;
    let shown = null; // the timeline's text, as last shown
    let status = null;

    const refresh = async () => {
      let answer;
      try {
        answer = await read(`${base}/timeline`);
      } catch (error) {
        if (error instanceof SandboxError && error.status === 404) {
          notice(`Entitlement ${id} is gone (the sandbox was reset?).`, "error");
          return;
        }
        throw error;
      }
      if (answer.text === shown) return;
      shown = answer.text;
      render(answer.document);
    };

    const render = (view) => {
      const record = view.entitlement;
      replaceChildren(document.getElementById("status"), [statusBadge(record.status)]);
      const waiting = document.getElementById("waiting");
      waiting.hidden = !view.waitingFor;
      waiting.textContent = view.waitingFor
        ? `A ${view.waitingFor} waits for the merchant's confirmation.`
        : "";
      renderEvents(view.events);
      renderRecord(record);
      replaceChildren(document.getElementById("timeline"), view.timeline.map(timelineEntry));
      if (record.status !== status) {
        status = record.status;
        const mark = encodeURIComponent(status);
        document.getElementById("moves").src = `/sandbox/console/moves.svg?from=${mark}`;
        document.getElementById("machine").src = `/sandbox/console/status-machine.svg?mark=${mark}`;
      }
    };

    const renderEvents = (offers) => {
      const box = document.getElementById("events");
      if (!offers.length) {
        replaceChildren(box, [
          el("p", { className: "none" }, "No event can happen from this status: it is final."),
        ]);
        return;
      }
      replaceChildren(
        box,
        offers.map((offer) =>
          el(
            "div",
            { className: "event" },
            el(
              "button",
              {
                type: "button",
                className: "event-button",
                "data-event": offer.event,
                disabled: !offer.available,
                title: `Rows: ${offer.rows.join(", ")}`,
                onclick: () => raise(offer.event),
              },
              offer.event,
            ),
            offer.note ? el("small", {}, offer.note) : null,
          ),
        ),
      );
    };

    const raise = async (event) => {
      try {
        const answer = await write(`${base}/events/${encodeURIComponent(event)}`);
        notice(answer.responseMessage, "done");
      } catch (error) {
        failed(error);
      }
      await refreshPage();
    };

    const renderRecord = (record) => {
      const body = document.querySelector("#record tbody");
      replaceChildren(
        body,
        Object.entries(record).map(([field, value]) =>
          el("tr", {}, el("th", { scope: "row" }, field), el("td", {}, fieldValue(field, value))),
        ),
      );
    };

    // A value as text: an object (extensionData) as a table of its keys, a string as it is,
    // anything else as JSON.
    const fieldValue = (field, value) => {
      if (value === null || value === undefined) return el("span", { className: "none" }, "null");
      if (field === "status") return statusBadge(value);
      if (typeof value === "string") {
        return el("span", { className: /^date/.test(field) ? "" : "id" }, value);
      }
      if (typeof value === "object" && !Array.isArray(value)) {
        const entries = Object.entries(value);
        if (!entries.length) return el("span", { className: "none" }, "{}");
        return el(
          "table",
          { className: "object" },
          el(
            "tbody",
            {},
            entries.map(([key, inner]) =>
              el(
                "tr",
                {},
                el("th", { scope: "row", className: "id" }, key),
                el("td", {}, typeof inner === "string" ? el("span", { className: "id" }, inner)
                  : el("pre", { className: "json" }, JSON.stringify(inner, null, 2))),
              ),
            ),
          ),
        );
      }
      return el("pre", { className: "json" }, JSON.stringify(value, null, 2));
    };

    const timelineEntry = (entry) => {
      if (entry.kind === "request") return requestEntry(entry);
      if (entry.kind === "transition") return transitionEntry(entry);
      return notificationEntry(entry);
    };

    const requestEntry = (entry) =>
      el(
        "li",
        { className: `entry request ${entry.httpStatus >= 400 ? "refused" : ""}` },
        el("div", { className: "when" }, time(entry.at)),
        el(
          "div",
          { className: "what" },
          el("b", {}, entry.operationId),
          " ",
          el("code", {}, `${entry.method} ${entry.path}`),
          " → ",
          el("span", { className: "answer" }, answerText(entry)),
          entry.responseMessage ? el("div", { className: "message" }, entry.responseMessage) : null,
          el(
            "div",
            { className: "detail" },
            entry.requestIdentifier ? `X-RequestIdentifier ${entry.requestIdentifier} · ` : "",
            `${entry.milliseconds} ms`,
          ),
        ),
      );

    const transitionEntry = (entry) =>
      el(
        "li",
        { className: "entry transition" },
        el("div", { className: "when" }, time(entry.at)),
        el(
          "div",
          { className: "what" },
          entry.from ? statusBadge(entry.from) : el("span", { className: "none" }, "new"),
          " → ",
          statusBadge(entry.to),
          " ",
          el("span", {}, "row "),
          el("code", { className: "row" }, entry.row),
          ` (${entry.trigger})`,
          el("div", { className: "detail" }, entry.description),
          el("div", { className: "detail" }, "sandbox time ", time(entry.sandboxTime)),
        ),
      );

    const notificationEntry = (entry) =>
      el(
        "li",
        { className: `entry notification state-${entry.state}` },
        el("div", { className: "when" }, time(entry.at)),
        el(
          "div",
          { className: "what" },
          el("b", {}, entry.notificationType),
          " notification ",
          el("code", { className: "id" }, entry.notificationId),
          " ",
          el("span", { className: "delivery" }, entry.state.replace("_", " ")),
          " ",
          el(
            "button",
            {
              type: "button",
              className: "redeliver",
              "data-notification-id": entry.notificationId,
              onclick: () => redeliver(entry.notificationId),
            },
            "Redeliver",
          ),
          el("div", { className: "detail" }, entry.url ? `to ${entry.url}` : "no notificationUrl"),
          entry.lastError ? el("div", { className: "message" }, entry.lastError) : null,
          entry.deliveries.length
            ? el("ol", { className: "deliveries" }, entry.deliveries.map(deliveryEntry))
            : null,
        ),
      );

    const deliveryEntry = (attempt) =>
      el(
        "li",
        { className: attempt.error ? "refused" : "" },
        time(attempt.at),
        " POST ",
        el("span", { className: "id" }, attempt.url),
        " → ",
        attempt.httpStatus !== null ? `HTTP ${attempt.httpStatus}` : attempt.error,
        attempt.milliseconds !== null ? ` (${attempt.milliseconds} ms)` : "",
      );

    const redeliver = async (notificationId) => {
      try {
        const path = `/sandbox/notifications/${encodeURIComponent(notificationId)}/redeliver`;
        const answer = await write(path);
        notice(answer.responseMessage, "done");
      } catch (error) {
        failed(error);
      }
      await refreshPage();
    };

    refreshPage = every(ENTITLEMENT_PAGE_SECONDS, refresh);
  }

  function answerText(entry) {
    return `${entry.httpStatus}${entry.responseCode ? ` ${entry.responseCode}` : ""}`;
  }

  // -- the request log -------------------------------------------------------------------

  function requestsPage() {
    const filters = new URLSearchParams(location.search);
    const chosen = {
      entitlementId: filters.get("entitlementId") || "",
      operationId: filters.get("operationId") || "",
      status: filters.get("status") || "",
    };
    document.getElementById("filter-entitlement").value = chosen.entitlementId;
    document.getElementById("filter-operation").value = chosen.operationId;
    document.getElementById("filter-status").value = chosen.status;
    const body = document.querySelector("#requests tbody");
    const more = document.getElementById("more");
    const empty = document.getElementById("empty");
    let newest = null;
    let first = [];
    let older = [];
    let cursor = null;

    const row = (entry) =>
      el(
        "tr",
        { className: entry.httpStatus >= 400 ? "refused" : "" },
        el("td", {}, time(entry.at)),
        el("td", {}, entry.operationId),
        el("td", {}, el("code", {}, `${entry.method} ${entry.path}`)),
        el(
          "td",
          {},
          answerText(entry),
          entry.responseMessage ? el("div", { className: "message" }, entry.responseMessage) : null,
        ),
        el("td", { className: "id" }, entry.requestIdentifier || ""),
        el("td", { className: "id" }, entry.entitlementId ? entitlementLink(entry.entitlementId) : ""),
        el("td", { className: "number" }, String(entry.milliseconds)),
      );
    const render = () => {
      const entries = [...first, ...older];
      replaceChildren(body, entries.map(row));
      empty.hidden = entries.length > 0;
    };
    const address = (before) => `/sandbox/requests${query({ ...chosen, before, limit: 100 })}`;
    const refresh = async () => {
      const { text, document: page } = await read(address());
      if (text === newest) return;
      newest = text;
      first = page.requests;
      if (!older.length) cursor = page.nextCursor;
      more.hidden = cursor === null;
      render();
    };
    more.addEventListener("click", async () => {
      try {
        const { document: page } = await read(address(cursor));
        older = [...older, ...page.requests];
        cursor = page.nextCursor;
        more.hidden = cursor === null;
        render();
      } catch (error) {
        failed(error);
      }
    });
    refreshPage = every(LIST_PAGE_SECONDS, refresh);
  }

  // A filter form goes to its page with the filled-in fields only (no "status=" for "any").
  function quietFilters() {
    const form = document.getElementById("filters");
    if (!form) return;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const chosen = {};
      for (const [name, value] of new FormData(form)) chosen[name] = String(value).trim();
      location.assign(`${form.getAttribute("action")}${query(chosen)}`);
    });
  }

  // -- start -----------------------------------------------------------------------------

  const pages = {
    entitlements: entitlementsPage,
    entitlement: entitlementPage,
    requests: requestsPage,
  };
  startClock();
  quietFilters();
  const start = pages[document.body.dataset.page];
  if (start) start();
})();
