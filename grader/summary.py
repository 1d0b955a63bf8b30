"""The report as a teacher reads it in a terminal: per function, the score and what failed."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.report import STATUS_MEANING, Report

MAX_MESSAGES = 4
_LEAD = {"mistake": "diagnosed", "cause": "cause", "observation": "measured"}


def _failures(report: Report, function: str) -> list[str]:
    """The distinct failure messages of a function's scored outputs, case by case."""
    lines: list[str] = []
    messages: set[str] = set()
    for case in report.functions[function].cases:
        for output in case.outputs.values():
            if output.scored and not output.passed and output.message not in messages:
                messages.add(output.message)
                lines.append(f"{case.id} ({case.visibility}): {output.message}")
    return lines


def render(report: Report, console: Console) -> None:
    """Print the summary of `report` on `console`."""
    style = "green" if report.status == "graded" and report.score == report.max_score else "yellow"
    if report.status != "graded":
        style = "red"
    console.print(
        Text.assemble(
            (f"{report.submission.name}", "bold"),
            f"  {report.score:g} / {report.max_score:g}  ",
            (report.status, style),
            f"  ({STATUS_MEANING[report.status]})" if report.status != "graded" else "",
        )
    )
    if report.status != "graded":
        console.print(f"  {report.message}")
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("function")
    table.add_column("score", justify="right")
    table.add_column("cases passed", justify="right")
    for name, function in report.functions.items():
        passed = sum(case.passed for case in function.cases)
        mark = "[green]✓[/]" if function.passed else "[red]✗[/]"
        table.add_row(f"{mark} {name}", f"{function.score:g} / {function.max_score:g}",
                      f"{passed} / {len(function.cases)}")
    console.print(table)
    for name, function in report.functions.items():
        failures = _failures(report, name)
        if not failures and function.primary is None:
            continue
        console.print(f"[bold]{name}[/]")
        # The primary diagnosis first: it is the one line a student should read.
        if function.primary is not None:
            shown_id = "" if function.primary.kind == "observation" else f" [dim]({function.primary.id})[/]"
            console.print(f"  [bold]{_LEAD[function.primary.kind]}[/]{shown_id}: ", end="")
            console.print(function.primary.sentence, highlight=False, markup=False)
        primary_mistake = function.primary.id if function.primary and function.primary.kind == "mistake" else None
        for mistake in (mistake for mistake in function.diagnosis if mistake.id != primary_mistake):
            console.print(f"  [dim]also reproduced by ({mistake.id}):[/] ", end="")
            console.print(mistake.hint, highlight=False, markup=False)
        for observation in function.observations:
            if function.primary is None or observation != function.primary.sentence:
                console.print("  [dim]measured:[/] ", end="")
                console.print(observation, highlight=False, markup=False)
        for line in failures[:MAX_MESSAGES]:
            console.print(f"  - {line}", highlight=False, markup=False)
        if len(failures) > MAX_MESSAGES:
            console.print(f"  … and {len(failures) - MAX_MESSAGES} more (see the JSON report)")
    for error in report.load_errors[:MAX_MESSAGES]:
        console.print(f"[yellow]while loading:[/] {error}", highlight=False)
    if report.skipped_statements:
        console.print(
            f"[dim]{len(report.skipped_statements)} top-level statements were not run "
            f"(only imports, functions and constants are loaded)[/]"
        )
    if report.stdout.bytes:
        console.print(f"[dim]the submission printed {report.stdout.bytes} bytes (in the JSON report)[/]")
