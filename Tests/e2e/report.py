"""One line per check, PASS or FAIL, printed as the run goes and kept in a file; a closing count."""

import os
import time
import traceback


class Report:
    def __init__(self, path):
        self.path = path
        self.lines = []
        self.passed = 0
        self.failed = []
        self.started = time.monotonic()

    def line(self, text):
        print(text, flush=True)
        self.lines.append(text)

    def check(self, kind, state, mode, run):
        """Runs `run()`; a string it returns is the detail of a pass, an exception is a failure.
        Returns whether it passed."""
        scope = "%s (%s)" % (state, mode)
        try:
            detail = run() or ""
        except AssertionError as error:
            self.fail(kind, scope, str(error) or "assertion failed")
            return False
        except Exception as error:  # noqa: BLE001 - a crash in a check is that check's failure
            self.fail(kind, scope, "%s: %s" % (type(error).__name__, str(error).splitlines()[0] if str(error) else ""))
            if os.environ.get("E2E_DEBUG"):
                traceback.print_exc()
            return False
        self.passed += 1
        self.line("PASS  %-9s %-40s %s" % (kind, scope, detail))
        return True

    def fail(self, kind, scope, why):
        self.failed.append((kind, scope, why))
        self.line("FAIL  %-9s %-40s %s" % (kind, scope, why))

    def close(self, screenshots):
        elapsed = time.monotonic() - self.started
        if self.failed:
            self.line("")
            self.line("Failed checks:")
            for kind, scope, why in self.failed:
                self.line("  %s %s: %s" % (kind, scope, why))
        self.line("")
        self.line("screenshots: %s (one per step, plus -640px and -320px zoom views)" % screenshots)
        self.line("report: %s; %.0f s" % (self.path, elapsed))
        self.line("e2e: %d passed, %d failed" % (self.passed, len(self.failed)))
        with open(self.path, "w") as file:
            file.write("\n".join(self.lines) + "\n")
        return 1 if self.failed else 0
