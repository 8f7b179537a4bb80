"""axe-core accessibility checks for the browser tests, from the copy of axe.min.js that the
axe-playwright-python package ships (a dev dependency): nothing is fetched at test time.

The pages' Content-Security-Policy allows only their own scripts, so axe can be injected only
in a browser context opened with `bypass_csp=True` (`axe_context`); the pages' own behaviour
is the same there, and the tests that check the policy itself use ordinary contexts."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

# What axe reports and why it matters: WCAG 2.0 to 2.2, A and AA, and Deque's best practices
# (landmarks, heading order, one h1…). Experimental rules are axe's own default exclusion.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@cache
def axe_source() -> str:
    """axe.min.js, read once per test session."""
    return (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


def axe_context(browser: Any, **options: Any) -> Any:
    """A browser context in which axe can be injected (see the module's docstring)."""
    return browser.new_context(bypass_csp=True, **options)


def axe_violations(page: Any, include: str | None = None) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now (or within the `include` selector), each
    `{id, impact, help, nodes: [selector…]}`, so an assertion message says what to fix."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(content=axe_source())
    results = page.evaluate(
        """async ([include, tags]) => {
            const context = include ? { include: [include] } : document;
            const options = { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] };
            return (await axe.run(context, options)).violations;
        }""",
        [include, AXE_TAGS],
    )
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [" ".join(map(str, node["target"])) for node in violation["nodes"]],
        }
        for violation in results
    ]


def assert_accessible(page: Any, what: str, include: str | None = None) -> None:
    """Fails with every violation axe finds on `page` (described as `what`)."""
    violations = axe_violations(page, include)
    assert violations == [], f"axe-core found accessibility problems on {what}: {violations}"
