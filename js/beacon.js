// tracker beacon, served minified at /t.js by tracker/beacon.py; see js/README.md.
// Budget: 3 KB gzipped, rendering included (tests/test_beacon.py enforces it).
(() => {
  let w = window, d = document, n = navigator, loc = location, html = d.documentElement;
  let script = d.currentScript;
  // A second copy of the snippet must not double-count every event.
  if (!script || w.tracker?.ready) return;

  // Everything run from an event, a timer or the host's own calls goes through
  // `safe`: a tracker bug must never surface as an error on the host page.
  let safe = fn => function () { try { return fn.apply(this, arguments) } catch (e) {} };
  let on = (t, ev, fn, o) => t.addEventListener(ev, safe(fn), o);
  let attr = (el, k) => el.getAttribute('data-' + k);
  let json = s => safe(JSON.parse)(s) || {};
  // Storage can be blocked (privacy modes, sandboxed frames): then it reads as empty.
  let get = safe(k => localStorage.getItem(k));
  let put = safe((k, v) => v ? localStorage.setItem(k, v) : localStorage.removeItem(k));

  let site = attr(script, 'site');
  // Resolved against the script URL so a tracker mounted under a path prefix works too.
  let endpoint = new URL('collect', script.src).href;
  let onlyMarked = attr(script, 'forms') == 'marked';
  let files = RegExp('\\.(' + (attr(script, 'downloads') || 'pdf|zip|docx?|xlsx?|pptx?|csv|odt|ods') + ')$', 'i');
  // Do Not Track and Global Privacy Control are applied by the server, per site
  // setting: their headers ride along, and a form must still get through.
  let ask = attr(script, 'consent') == 'required';
  let fr = /^fr/i.test(html.lang);
  // The console's preview page hands one decision to render as visitors get it, and nothing is sent.
  let preview = attr(script, 'preview');

  let queue = [], timer = 0, here = '', seconds = 0, depth = 0, shown = {};

  // Until the visitor says yes, a consent-required page keeps nothing, not even in
  // memory; after a no, no page does.
  let push = (type, e) => {
    let consent = get('tk_consent');
    if (preview || consent == '0' || ask && !consent) return;
    queue.push({ type, url: loc.href, t: Date.now(), props: {}, ...e });
    timer = timer || setTimeout(flush);
  };

  // sendBeacon survives the page going away but cannot read the answer, so it
  // is only used when hiding; otherwise fetch brings the decisions back.
  let send = (events, hiding) => {
    let width = w.innerWidth, given = get('tk_consent'), body = JSON.stringify({
      site, vid: get('tk_vid') || undefined, sent_at: Date.now(),
      ctx: {
        screen: width < 768 ? 'mobile' : width < 1024 ? 'tablet' : 'desktop', webdriver: !!n.webdriver,
        // true once given, false to withdraw, absent while unanswered.
        consent: given ? given == 1 : undefined,
      },
      events,
    });
    (hiding && n.sendBeacon(endpoint, body)) || fetch(endpoint, { method: 'POST', body, keepalive: true, credentials: 'include' })
      .then(response => response.ok && response.json())
      .then(answer => {
        // An answer still in flight when the visitor refused must not store the token again.
        if (answer.vid && get('tk_consent') != '0') put('tk_vid', answer.vid);
        answer.decisions?.forEach(safe(decide));
      })
      .catch(() => {});
  };

  let flush = safe(hiding => {
    timer = 0;
    while (queue.length) send(queue.splice(0, 50), hiding);
  });

  let scrolled = () => Math.min(100, Math.round((w.scrollY + w.innerHeight) / html.scrollHeight * 100)) || 0;
  let measure = () => { depth = Math.max(depth, scrolled()) };

  let engaged = () => {
    measure();
    if (seconds) push('engaged', { url: here, props: { seconds, scroll: depth } });
    seconds = 0;
  };

  let page = () => {
    let ref = here || d.referrer, meta = d.querySelector('meta[name="tracker:props"]');
    engaged();
    here = loc.href;
    depth = 0;
    shown = {};
    push('page', { ref, title: d.title, props: json(meta?.content) });
  };

  // ---- automatic tracking ----------------------------------------------------

  // Engaged time only counts while the tab is both visible and focused.
  setInterval(() => seconds += !d.hidden && d.hasFocus(), 1e3);
  on(w, 'scroll', measure, { passive: true });
  let hide = () => { engaged(); flush(true) };
  on(d, 'visibilitychange', () => d.hidden && hide());
  on(w, 'pagehide', hide);

  // SPA navigation: routers change the URL first and the title right after, so
  // the page view is taken one tick later; a same-URL replaceState is no view.
  let path = url => url.split('#')[0];
  let routed = () => setTimeout(safe(() => path(loc.href) != path(here) && page()));
  for (let k of ['pushState', 'replaceState']) {
    let original = history[k];
    history[k] = function () { let result = original.apply(this, arguments); routed(); return result };
  }
  on(w, 'popstate', routed);

  let clicked = e => {
    let target = e.target, tagged = target.closest('[data-tracker-event]'), link = target.closest('a[href]'), file;
    if (e.button > 1) return;
    if (tagged) push('click', { name: attr(tagged, 'tracker-event'), props: json(attr(tagged, 'tracker-props')) });
    if (!/^https?:$/.test(link?.protocol)) return;
    file = link.hasAttribute('download') || files.test(link.pathname);
    if (file || link.host != loc.host) push(file ? 'download' : 'outbound', { url: link.href, props: { page: loc.href } });
  };
  // auxclick: middle-clicked downloads and outbound links count too.
  on(d, 'click', clicked, true);
  on(d, 'auxclick', clicked, true);

  on(d, 'submit', e => {
    let form = e.target, mark = attr(form, 'tracker-form'), props = {};
    // Forms the beacon rendered itself report their own event.
    if (form.hasAttribute('data-tk') || (onlyMarked && !mark)) return;
    // FormData already leaves out buttons, unchecked boxes and disabled fields.
    for (let [name, value] of new FormData(form)) {
      let { type, autocomplete } = form.elements[name] || {};
      // Secrets never leave the page: files, passwords, hidden CSRF tokens, card fields.
      if (typeof value == 'string' && type != 'password' && !(type == 'hidden' && /csrf|token|nonce/i.test(name))
        && !/pass|card|cc-|cvc|cvv/i.test(name + ' ' + autocomplete)) props[name] = value;
    }
    push('form', { name: mark || form.getAttribute('id') || form.getAttribute('name') || 'form', props });
  }, true);

  // ---- rendering decisions ---------------------------------------------------

  // Children are appended as nodes or text and attributes set one by one, so
  // campaign text can never become markup.
  let el = (tag, attrs, ...kids) => {
    let node = d.createElement(tag);
    for (let k in attrs) node.setAttribute(k, attrs[k]);
    node.append(...kids);
    return node;
  };

  // Scoped by the shadow root; hosts restyle through the --tk-* custom properties.
  let STYLE = 'dialog{font:15px/1.5 var(--tk-font,system-ui);color:var(--tk-fg,#222);background:var(--tk-bg,#fff);border:0;border-radius:8px;box-shadow:0 2px 20px #0006;padding:1em 2.5em 1em 1.2em;max-width:min(400px,90vw)}'
    + '::backdrop{background:#0008}.chat,.banner{position:fixed;z-index:2147483647;margin:0;inset:auto 1em 1em auto}.banner{inset:0 0 auto;width:auto;max-width:none}'
    + 'h2{margin:0 0 .3em;font-size:1.2em}p{margin:0 0 .8em}label{display:block;margin-bottom:.6em}label::first-letter{text-transform:uppercase}'
    + 'input{display:block;box-sizing:border-box;width:100%;padding:4px;font:inherit}'
    + '.x{position:absolute;top:0;right:8px;border:0;background:none;font-size:20px}'
    + '.b{display:inline-block;border:0;border-radius:6px;padding:8px 16px;background:var(--tk-accent,#05f);color:#fff;font:inherit;text-decoration:none}';

  // Title, text, then a reply box (chat), the embedded lead form or the call to
  // action. A native <dialog> gives the modal its focus trap, Esc, backdrop, top
  // layer and focus restore; chat and banner are non-modal dialogs.
  let render = decision => {
    let { campaign, kind, title, cta } = decision, chat = kind == 'chat', box, form, link;
    let spec = chat ? { fields: ['message'], submit: fr ? 'Envoyer' : 'Send' } : decision.form;
    let report = type => push(type, { props: { campaign } });
    // Reported at once: a call to action may navigate away before <dialog> fires "close".
    let convert = () => { report('conversion'); box?.close('conversion') };
    let kids = [title && el('h2', {}, title), el('p', {}, decision.opener || decision.text || '')];
    if (spec) {
      // A field is a name ("job_title" shows as "Job title") or {name, label}.
      kids.push(form = el('form', { 'data-tk': '' }, ...spec.fields.map(field => {
        let name = field.name || field;
        return el('label', {}, field.label || name.replace(/_/g, ' '),
          el('input', { name, type: name == 'email' ? 'email' : 'text', ...((chat || name == 'email') && { required: '' }) }));
      }), el('button', { class: 'b' }, spec.submit || 'OK')));
      on(form, 'submit', e => {
        let props = Object.fromEntries(new FormData(form));
        e.preventDefault();
        if (chat) {
          push('chat', { props: { campaign, message: props.message } });
          form.before(el('p', {}, '› ' + props.message));
          form.reset();
        } else {
          push('form', { name: spec.name, props });
          form.replaceWith('✓');
          convert();
        }
      });
    } else if (cta) {
      link = el('a', { class: 'b', href: cta.url }, cta.label);
      // javascript: and data: URLs would be a script injection path.
      if (/^(https?|mailto|tel):$/.test(link.protocol)) on(link, 'click', convert), kids.push(link);
    }
    kids = kids.filter(k => k);
    if (kind == 'content') {
      // A slot name that breaks the selector only throws, and `safe` swallows that.
      let slot = d.querySelector(`[data-tracker-slot="${decision.slot}"]`);
      if (!slot) return;
      slot.replaceChildren(...kids);
    } else {
      let host = el('tracker-ui', { 'data-tracker-campaign': campaign });
      // The close button comes last so the modal's first focus lands on the form or the call to action.
      let close = el('button', { class: 'x', 'aria-label': fr ? 'Fermer' : 'Close' }, '×');
      box = el('dialog', { class: kind, 'aria-label': title || campaign }, ...kids, close);
      on(close, 'click', () => box.close());
      on(box, 'close', () => { host.remove(); box.returnValue || report('close') });
      host.attachShadow({ mode: 'open' }).append(el('style', {}, STYLE), box);
      (d.body || html).append(host);
      // show() would move focus into the widget; a chat or banner must not steal it from the page.
      kind == 'popup' ? box.showModal() : box.setAttribute('open', '');
    }
    report('impression');
  };

  // Display triggers. shown[id]: 1 waiting for its trigger, 2 rendered; a page
  // view resets it, which also disarms the previous page's pending triggers.
  let decide = decision => {
    let id = decision.campaign, t = decision.trigger || {}, go = () => shown[id] == 1 && (shown[id] = 2, render(decision));
    let deep = () => scrolled() >= t.percent && go();
    if (!id || shown[id]) return;
    shown[id] = 1;
    if (t.on == 'scroll') on(w, 'scroll', deep), deep();
    else if (t.on == 'exit') on(d, 'mouseout', e => !e.relatedTarget && e.clientY < 1 && go());
    // "delay", and "immediate" as a zero delay (NaN seconds count as 0).
    else setTimeout(safe(go), t.seconds * 1e3);
  };

  // ---- public API ------------------------------------------------------------

  let api = {
    track: (name, props = {}) => push('custom', { name, props }),
    identify: traits => traits?.email && push('identify', { props: traits }),
    page,
    consent: yes => {
      let known = get('tk_vid'), before = get('tk_consent');
      put('tk_consent', yes ? '1' : '0');
      // The tk_vid cookie is HttpOnly: only the server can expire it, so a refusal asks it to.
      if (!yes) queue = [], put('tk_vid'), known && send([]);
      // The page the visitor said yes on counts from that moment: its referrer, not the time spent before.
      else if (ask && before != 1) here = seconds = 0, page();
      flush();
    },
  };
  for (let k in api) api[k] = safe(api[k]);
  // Calls made through the snippet's stub before this script loaded: [method, ...args].
  let early = w.tracker?.q || [];
  w.tracker = { ...api, ready: 1 };
  preview ? render(json(preview)) : page();
  early.forEach(safe(([method, ...args]) => api[method]?.(...args)));
})();
