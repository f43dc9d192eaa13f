"""What every page state is audited for: HTML that parses without errors (html5lib), axe-core's
WCAG 2.x A/AA rules, and the accessibility properties we check ourselves (labels, lang, one h1,
errors tied to their fields, contrast, visible keyboard focus, use at 200 % and 400 % zoom).

Each audit returns a short summary when the page passes and raises AssertionError saying what is
wrong when it does not."""

import html5lib
from html5lib.constants import E as HTML5LIB_MESSAGES
from axe_selenium_python import Axe
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

# --- HTML validity --------------------------------------------------------------------------------


def html_errors(body, content_type="text/html; charset=utf-8"):
    """html5lib's parse errors for `body` (bytes as served), as 'line L col C: message'."""
    charset = None
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset":
            charset = value.strip('"')
    parser = html5lib.HTMLParser(strict=False, namespaceHTMLElements=False)
    parser.parse(body, transport_encoding=charset)
    found = []
    for (line, column), code, variables in parser.errors:
        message = HTML5LIB_MESSAGES.get(code, code)
        try:
            message = message % (variables or {})
        except (KeyError, TypeError, ValueError):
            pass
        found.append("line %s col %s: %s" % (line, column, message))
    return found


def validity(body, content_type="text/html; charset=utf-8"):
    errors = html_errors(body, content_type)
    if errors:
        raise AssertionError("%d parse error(s): %s" % (len(errors), "; ".join(errors[:5])))
    return "%d bytes, no parse errors" % len(body)


# --- axe-core -------------------------------------------------------------------------------------

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")

# With page JavaScript off, Chromium never fires timers, even for scripts the driver injects; axe
# defers work with setTimeout(…, 0). This stand-in runs such callbacks as microtasks instead
# (promises still run). The pages have no iframes, the one place axe relies on a real delay.
TIMERS_AS_MICROTASKS = """
window.setTimeout = function (callback) {
  var args = Array.prototype.slice.call(arguments, 2);
  Promise.resolve().then(function () { callback.apply(null, args); });
  return 0;
};
"""

RUN_AXE = """
var done = arguments[arguments.length - 1];
var wanted = arguments[0];
var known = {};
axe.getRules().forEach(function (rule) { rule.tags.forEach(function (tag) { known[tag] = true; }); });
var tags = wanted.filter(function (tag) { return known[tag]; });
axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})
  .then(function (results) {
    done({version: axe.version, tags: tags, violations: results.violations.map(function (v) {
      return {id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(function (n) {
        return {target: n.target.join(" "), summary: n.failureSummary}; })}; })});
  })
  .catch(function (error) { done({error: String(error)}); });
"""


def axe(browser):
    """Runs axe-core (the copy axe-selenium-python bundles) on the current page; fails on any
    violation of impact serious or critical, and lists the others."""
    driver = browser.driver
    if not browser.javascript:
        driver.execute_script(TIMERS_AS_MICROTASKS)
    Axe(driver).inject()
    result = driver.execute_async_script(RUN_AXE, WCAG_TAGS)
    if "error" in result:
        raise AssertionError("axe did not run: " + result["error"])
    blocking = [v for v in result["violations"] if v["impact"] in BLOCKING]
    others = [v for v in result["violations"] if v["impact"] not in BLOCKING]

    def describe(violations):
        return "; ".join("%s (%s) at %s: %s" % (v["id"], v["impact"], ", ".join(n["target"] for n in v["nodes"][:3]),
                                                v["help"]) for v in violations)
    if blocking:
        raise AssertionError("%d serious/critical: %s" % (len(blocking), describe(blocking)))
    summary = "axe %s (%s): no serious or critical violations" % (result["version"], "+".join(result["tags"]))
    return summary + ("; minor: " + describe(others) if others else "")


# --- our own checks -------------------------------------------------------------------------------

HELPERS = """
function describe(el) {
  if (!el) return "nothing";
  var name = el.tagName.toLowerCase();
  if (el.id) name += "#" + el.id;
  else if (el.tagName === "BUTTON" && el.value) name += "[value=" + el.value + "]";
  else if (el.getAttribute("name")) name += "[name=" + el.getAttribute("name") + "]";
  else if (el.className && typeof el.className === "string") name += "." + el.className.split(" ")[0];
  return name;
}
function shown(el) {
  var rect = el.getBoundingClientRect(), style = getComputedStyle(el);
  return rect.width > 1 && rect.height > 1 && style.visibility !== "hidden" && style.display !== "none";
}
function parseColor(text) {
  var match = /rgba?\\(([^)]+)\\)/.exec(text || "");
  if (!match) return null;
  var parts = match[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
  return {r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1};
}
function over(top, bottom) {
  var a = top.a;
  return {r: top.r * a + bottom.r * (1 - a), g: top.g * a + bottom.g * (1 - a), b: top.b * a + bottom.b * (1 - a), a: 1};
}
function backgroundOf(el) {
  var layers = [];
  for (var e = el; e; e = e.parentElement) {
    var color = parseColor(getComputedStyle(e).backgroundColor);
    if (color && color.a > 0) { layers.push(color); if (color.a >= 1) break; }
  }
  var result = {r: 255, g: 255, b: 255, a: 1};
  for (var i = layers.length - 1; i >= 0; i--) result = over(layers[i], result);
  return result;
}
function luminance(c) {
  function channel(v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }
  return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
}
function ratio(a, b) {
  var la = luminance(a), lb = luminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}
var FIELDS = "input:not([type=hidden]), select, textarea";
var CONTROLS = "a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex='-1'])";
"""

EXPLICIT = HELPERS + """
var expectedErrors = arguments[0];
var problems = {labels: [], lang: [], h1: [], errors: [], contrast: []};

// Every field has a visible label with text.
document.querySelectorAll(FIELDS).forEach(function (field) {
  var labels = Array.prototype.filter.call(field.labels || [], function (label) {
    return label.textContent.trim() && shown(label);
  });
  if (!labels.length) problems.labels.push(describe(field) + " has no visible label");
});

// The page says its language.
var lang = document.documentElement.getAttribute("lang") || "";
if (!/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/.test(lang)) problems.lang.push("<html lang> is '" + lang + "'");

// Exactly one h1, with text.
var headings = document.querySelectorAll("h1");
if (headings.length !== 1) problems.h1.push(headings.length + " h1 elements");
else if (!headings[0].textContent.trim()) problems.h1.push("the h1 is empty");

// Each field in error points (aria-describedby) at a visible message just below or beside it.
var invalid = Array.prototype.slice.call(document.querySelectorAll("[aria-invalid=true]"));
expectedErrors.forEach(function (name) {
  if (!invalid.some(function (field) { return field.getAttribute("name") === name; }))
    problems.errors.push(name + " is not marked aria-invalid");
});
invalid.forEach(function (field) {
  var ids = (field.getAttribute("aria-describedby") || "").split(/\\s+/).filter(Boolean);
  if (!ids.length) { problems.errors.push(describe(field) + " is invalid without aria-describedby"); return; }
  var box = field.getBoundingClientRect();
  ids.forEach(function (id) {
    var note = document.getElementById(id);
    if (!note) { problems.errors.push(describe(field) + " describedby #" + id + ", which does not exist"); return; }
    if (!note.textContent.trim() || !shown(note)) { problems.errors.push("#" + id + " is empty or hidden"); return; }
    var rect = note.getBoundingClientRect();
    var below = rect.top >= box.top && rect.top - box.bottom <= 48;
    var overlaps = rect.left < box.right && rect.right > box.left;
    if (!below || !overlaps) problems.errors.push("#" + id + " is not next to " + describe(field));
  });
});
document.querySelectorAll(".field-error").forEach(function (note) {
  if (!note.id || !document.querySelector("[aria-describedby~='" + note.id + "']"))
    problems.errors.push("message '" + note.textContent.trim() + "' is not tied to a field");
});
document.querySelectorAll(".alert").forEach(function (alert) {
  if (alert.getAttribute("role") !== "alert") problems.errors.push("form message without role=alert");
});

// Text contrast (4.5:1, 3:1 for large text), placeholders included; field borders 3:1.
function checkText(el, text, color) {
  var style = getComputedStyle(el);
  var size = parseFloat(style.fontSize), weight = parseInt(style.fontWeight, 10) || 400;
  var large = size >= 24 || (size >= 18.66 && weight >= 700);
  var parsed = parseColor(color);
  if (!parsed) { problems.contrast.push(describe(el) + " colour '" + color + "' not understood"); return; }
  var background = backgroundOf(el), foreground = over(parsed, background);
  var value = ratio(foreground, background);
  if (value < (large ? 3 : 4.5) - 0.005)
    problems.contrast.push(describe(el) + " '" + text.trim().slice(0, 30) + "' " + value.toFixed(2) + ":1");
}
document.querySelectorAll("body *").forEach(function (el) {
  if (!shown(el) || el.closest("[aria-hidden=true]")) return;
  var own = Array.prototype.filter.call(el.childNodes, function (n) { return n.nodeType === 3 && n.textContent.trim(); });
  if (own.length) checkText(el, own.map(function (n) { return n.textContent; }).join(" "), getComputedStyle(el).color);
});
document.querySelectorAll(FIELDS).forEach(function (field) {
  if (!shown(field)) return;
  if (field.value && field.tagName !== "SELECT") checkText(field, field.value, getComputedStyle(field).color);
  else if (field.placeholder) checkText(field, field.placeholder, getComputedStyle(field, "::placeholder").color);
  var border = parseColor(getComputedStyle(field).borderTopColor);
  var around = backgroundOf(field.parentElement);
  if (border && ratio(over(border, around), around) < 3)
    problems.contrast.push(describe(field) + " border " + ratio(over(border, around), around).toFixed(2) + ":1");
});
return problems;
"""


def explicit(browser, expected_errors=()):
    """Labels, lang, one h1, errors tied to their fields, contrast."""
    problems = browser.driver.execute_script(EXPLICIT, list(expected_errors))
    failing = ["%s: %s" % (name, "; ".join(items[:4])) for name, items in problems.items() if items]
    if failing:
        raise AssertionError(" | ".join(failing))
    return "labels, lang, one h1, %s, contrast" % (
        "%d field error(s) tied to their fields" % len(expected_errors) if expected_errors else "no field errors")


FOCUS_STYLE = HELPERS + """
var el = arguments[0];
var style = getComputedStyle(el);
var outline = parseColor(style.outlineColor);
var around = backgroundOf(el.parentElement);
return {outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2 ? parseFloat(style.outlineWidth) : 0,
        outlineContrast: outline ? ratio(over(outline, around), around) : 0,
        shadow: style.boxShadow, border: style.borderTopColor + " " + style.borderTopWidth,
        background: style.backgroundColor, name: describe(el)};
"""

CONTROL_LIST = HELPERS + """
if (document.activeElement) document.activeElement.blur();
return Array.prototype.filter.call(document.querySelectorAll(CONTROLS), shown);
"""


def focus(browser):
    """Tabs through the page: every control must be reached, and show a focus indicator
    (an outline of at least 2 px at 3:1 against its surroundings, or a changed shadow, border or
    background)."""
    driver = browser.driver
    controls = driver.execute_script(CONTROL_LIST)
    resting = [driver.execute_script(FOCUS_STYLE, control) for control in controls]
    reached, problems = set(), []
    for _ in range(len(controls) + 2):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        active = driver.switch_to.active_element
        if active.tag_name in ("body", "html"):
            break
        if active not in controls:
            continue
        index = controls.index(active)
        if index in reached:
            break
        reached.add(index)
        now, before = driver.execute_script(FOCUS_STYLE, active), resting[index]
        outlined = now["outline"] >= 2 and now["outlineContrast"] >= 3
        changed = any(now[key] != before[key] for key in ("shadow", "border", "background"))
        if not (outlined or changed):
            problems.append("%s shows no visible focus (%s; no change of shadow, border or background)" % (
                now["name"], "outline %.0f px at %.1f:1" % (now["outline"], now["outlineContrast"])
                if now["outline"] else "no outline"))
    missed = [resting[i]["name"] for i in range(len(controls)) if i not in reached]
    if missed:
        problems.append("not reached with Tab: " + ", ".join(missed))
    if problems:
        raise AssertionError("; ".join(problems))
    return "%d controls reached with Tab, each with a visible focus indicator" % len(controls)


REFLOW = HELPERS + """
var width = document.documentElement.clientWidth;
var problems = [];
if (document.documentElement.scrollWidth > width + 1)
  problems.push("scrolls sideways (" + document.documentElement.scrollWidth + " px of content in " + width + " px)");
document.querySelectorAll(CONTROLS + ", h1, .alert, .field-error").forEach(function (el) {
  // Out of sight, of the tab order and of assistive technology: no one meets it but the Enter
  // key (the checkout form's first, implicit submit button), so it has no place to reflow into.
  if (el.closest("[aria-hidden=true]") && el.getAttribute("tabindex") === "-1") return;
  el.scrollIntoView({block: "center", inline: "nearest"});
  var rect = el.getBoundingClientRect();
  if (rect.width < 1 || rect.height < 1) { problems.push(describe(el) + " has no size"); return; }
  if (rect.left < -1 || rect.right > width + 1) {
    problems.push(describe(el) + " cut off (" + Math.round(rect.left) + "-" + Math.round(rect.right) + " px)"); return;
  }
  var hit = document.elementFromPoint(rect.left + rect.width / 2, rect.top + rect.height / 2);
  if (hit && hit !== el && !el.contains(hit) && !(el.labels && Array.prototype.some.call(el.labels, function (l) { return l.contains(hit); })))
    problems.push(describe(el) + " covered by " + describe(hit));
});
document.querySelectorAll("body *").forEach(function (el) {
  var style = getComputedStyle(el);
  if (el.matches("input, select, textarea") || !shown(el)) return;
  if ((style.overflowX === "hidden" || style.overflowX === "clip") && el.scrollWidth > el.clientWidth + 1)
    problems.push(describe(el) + " clips its content");
});
window.scrollTo(0, 0);
return problems;
"""

# A 640 px window is a 1280 px screen at 200 % zoom; 320 px is WCAG's reflow width (400 %).
ZOOM_WIDTHS = ((640, "200 %"), (320, "400 %"))


def zoom(browser, shot_name):
    """At each zoom width: no sideways scrolling, no control cut off, covered or without size.
    Leaves a screenshot per width and restores the window."""
    problems = []
    try:
        for width, label in ZOOM_WIDTHS:
            browser.resize(width)
            found = browser.driver.execute_script(REFLOW)
            browser.screenshot("%s-%dpx" % (shot_name, width))
            problems += ["%d px (%s): %s" % (width, label, item) for item in found]
    finally:
        browser.resize(*browser.default_size)
    if problems:
        raise AssertionError("; ".join(problems[:6]))
    return "usable at 640 px (200 %) and 320 px (400 %): no sideways scrolling, every control visible"
