"""Find who handed in what: a folder, an LMS bulk-download zip or a CSV manifest, plus a roster.

The result is a list of hand-ins (student id, file name, where the bytes are) and a list
of students with nothing to grade. Zips are read in place, member by member and capped in
size (the same reading rules as any submission), never extracted: no path in an archive can
reach the file system (zip slip).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import stat
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Literal

from grader.errors import GraderError
from grader.submission import KINDS, Submission

MAX_MEMBERS = 20_000
"""Most entries read from one zip (an LMS export of a large class has a few thousand)."""
MAX_ARCHIVE_BYTES = 2 * 1024 * 1024 * 1024
"""Most uncompressed bytes the candidate files of one zip may declare (zip bombs)."""
MAX_ID_LENGTH = 100
SKIPPED_DIRS = {"__MACOSX", "__pycache__", ".ipynb_checkpoints"}

LMS_PATTERNS: dict[str, re.Pattern[str]] = {
    # Moodle: "Full Name_12345_assignsubmission_file_" folders (or the same prefix on flat files).
    "moodle": re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_[a-z]+_(?P<file>.*)$"),
    # Blackboard, Gradescope-like: "Assignment_studentid_attempt_2024-01-31-23-59-59[_file.py]".
    "attempt": re.compile(
        r"^(?P<assignment>.+?)_(?P<id>[^_]+)_attempt_(?P<date>\d{4}(?:-\d{2}){5})(?:_(?P<file>.+))?$"
    ),
    # Canvas: "lastname_firstname[_late]_12345_67890_file.py" (user id, then attachment id).
    "canvas": re.compile(
        r"^(?P<name>[A-Za-z][^_]*(?:_[A-Za-z][^_]*)*?)_(?:late_|LATE_)?(?P<id>\d+)_(?P<attachment>\d+)_(?P<file>.+)$"
    ),
    # Id first (Canvas anonymous grading, hand-made exports): "s1234567_[98765_]file.py".
    "id-first": re.compile(r"^(?P<id>[A-Za-z]*\d+)_(?:\d+_)*(?P<file>.+)$"),
}
"""Each LMS's top-level names. Only the groups before `file` are the LMS's; `file` is the student's upload name."""
OWNER_GROUPS = ("assignment", "name", "id")
"""The groups of a name that say whose it is: files whose owners differ are different students' files."""
_MOODLE_MARKER = re.compile(r"_\d+_assignsubmission_[a-z]+_")


class BatchInputError(GraderError):
    """The batch input, manifest or roster cannot be read; the message says what to fix."""


class FileSource:
    """A submission file on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> bytes:
        return Submission.from_path(self.path).content

    def submission(self, name: str) -> Submission:
        """The file as a submission; a symlink or special file keeps its reason to be refused."""
        return dataclasses.replace(Submission.from_path(self.path), name=name)

    def __repr__(self) -> str:
        return f"FileSource({str(self.path)!r})"


class ZipSource:
    """One member of a zip, read without extracting it and capped like a file on disk."""

    def __init__(self, archive: Path, member: str) -> None:
        self.archive = archive
        self.member = member

    def read(self) -> bytes:
        return self.submission(PurePosixPath(self.member).name).content

    def submission(self, name: str) -> Submission:
        """The member as a submission, decompressed only up to the limit of its kind."""
        with zipfile.ZipFile(self.archive) as archive, archive.open(self.member) as handle:
            return Submission.from_upload(name, handle)

    def __repr__(self) -> str:
        return f"ZipSource({str(self.archive)!r}, {self.member!r})"


Source = FileSource | ZipSource


@dataclasses.dataclass(frozen=True)
class Handin:
    """One student's file to grade."""

    student_id: str
    path: str
    """Where the file was found, relative to the batch input (for people, not for reading)."""
    source: Source

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name

    def submission(self) -> Submission:
        return self.source.submission(self.name)


@dataclasses.dataclass(frozen=True)
class Absent:
    """A student with nothing to grade, and why: nothing handed in (`missing`), or files that
    several names claim for one id, none of which is graded (`conflict`)."""

    student_id: str
    reason: str
    status: Literal["missing", "conflict"] = "missing"


@dataclasses.dataclass(frozen=True)
class Claim:
    """Whose a file is, read only from the part of its path that the LMS (or the teacher) wrote."""

    owner: str
    """That part: two files with different owners are never one student's attempts."""
    student_id: str


@dataclasses.dataclass(frozen=True)
class Discovered:
    """Everything found in a batch input."""

    handins: tuple[Handin, ...]
    absent: tuple[Absent, ...]
    warnings: tuple[str, ...]


def clean_id(raw: str) -> str:
    """A student id safe as a file name: letters, digits and `._@-`; anything else becomes `_`."""
    # No leading dot (hidden files, "..") and no leading - or @ (spreadsheet formulas, options).
    cleaned = re.sub(r"[^A-Za-z0-9._@-]+", "_", raw.strip()).lstrip("._@-").rstrip("._")[:MAX_ID_LENGTH]
    if not cleaned:
        raise BatchInputError(f"{raw!r} cannot be used as a student id")
    return cleaned


def compile_id_pattern(pattern: str) -> re.Pattern[str]:
    """Check an --id-pattern: a valid regular expression with a named group `id`."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise BatchInputError(f"--id-pattern is not a valid regular expression: {exc}") from exc
    if "id" not in compiled.groupindex:
        raise BatchInputError("--id-pattern needs a named group for the student id, e.g. (?P<id>\\d+)")
    return compiled


def lms_claim(component: str, scheme: str) -> Claim | None:
    """The owner that LMS `scheme` wrote into a top-level name, None when the name does not fit it.

    A Moodle name holding the id marker twice (a student's display name or upload name made
    to look like another student's prefix) fits nobody: whose it is cannot be told.
    """
    match = LMS_PATTERNS[scheme].match(component)
    if match is None or (scheme == "moodle" and len(_MOODLE_MARKER.findall(component)) > 1):
        return None
    owner = "_".join(match[group] for group in OWNER_GROUPS if group in match.re.groupindex)
    return Claim(owner, match["id"])


def naming_scheme(tops: Iterable[str]) -> str | None:
    """The one LMS naming that every top-level name fits; None when no name fits any (plain names).

    Chosen for the whole input, never per name: a student's upload name can fit another LMS's
    pattern, and reading it by that pattern would hand the file to whoever it names.
    """
    tops = sorted(set(tops))
    matches = {scheme: [pattern.match(top) for top in tops] for scheme, pattern in LMS_PATTERNS.items()}
    fitting = [scheme for scheme, found in matches.items() if tops and all(found)]
    if len({tuple(match["id"] for match in matches[scheme]) for scheme in fitting}) > 1:
        raise BatchInputError(
            f"the names fit both the {' and the '.join(fitting)} naming, which read different student ids; "
            "pass --id-pattern to say where the id is")
    if fitting:
        return fitting[0]
    best = max(matches, key=lambda scheme: sum(map(bool, matches[scheme])))
    strays = [top for top, match in zip(tops, matches[best]) if match is None]
    if len(strays) == len(tops):
        return None
    shown = ", ".join(repr(top) for top in strays[:3]) + (f" and {len(strays) - 3} more" if len(strays) > 3 else "")
    raise BatchInputError(
        f"{len(strays)} of {len(tops)} top-level names do not fit the {best} naming of the others ({shown}); "
        "files are attributed only by one LMS's naming: remove those entries or pass --id-pattern")


def claim_of(path: PurePosixPath, scheme: str | None, id_pattern: re.Pattern[str] | None) -> Claim | None:
    """Whose file `path` (relative to the input) is; None when its name fits no owner.

    With --id-pattern, the owner is the matched text up to the end of the id. Otherwise the
    first path component decides: by the input's LMS `scheme`, else the folder's name or the
    file's stem (`alice.py`, `alice/solution.py` are alice's).
    """
    if id_pattern is not None:
        match = id_pattern.search(path.as_posix())
        if not match or not match["id"]:
            return None
        return Claim(path.as_posix()[match.start():match.end("id")], match["id"])
    top = path.parts[0]
    if scheme is not None:
        return lms_claim(top, scheme)
    plain = top if len(path.parts) > 1 else PurePosixPath(top).stem
    return Claim(plain, plain)


def graded_file(paths: Sequence[str], defines: Mapping[str, int]) -> str:
    """Which of one student's files to grade: the one defining most graded functions.

    Ties go to the last name in sorted order, which is the newest attempt for the
    LMS names that carry a date or a resubmission suffix (`-1`).
    """
    return max(sorted(paths, reverse=True), key=lambda path: defines.get(path, 0))


def count_definitions(content: bytes, functions: Iterable[str]) -> int:
    """How many of `functions` the file defines (also inside a notebook's JSON text)."""
    text = content.decode("utf-8", "replace")
    # In a notebook's JSON a def may follow an escaped newline: `"x = 1\\ndef f(`.
    return sum(bool(re.search(rf"(?:\b|(?<=\\n))def\s+{re.escape(name)}\s*\(", text)) for name in functions)


def _is_candidate(path: PurePosixPath) -> bool:
    return path.suffix.lower() in KINDS and not any(
        part.startswith(".") or part in SKIPPED_DIRS for part in path.parts
    )


def _strip_wrappers(paths: list[PurePosixPath]) -> list[PurePosixPath]:
    """Drop folders that wrap a whole zip (`export/...`), but never one named by an LMS pattern."""
    while paths and all(len(path.parts) > 1 for path in paths):
        tops = {path.parts[0] for path in paths}
        if len(tops) != 1 or any(pattern.match(next(iter(tops))) for pattern in LMS_PATTERNS.values()):
            break
        paths = [PurePosixPath(*path.parts[1:]) for path in paths]
    return paths


def _pick(student: str, sources: Mapping[str, Source], functions: Sequence[str], warnings: list[str]) -> Handin:
    """The hand-in of a student who has one or more candidate files."""
    chosen = next(iter(sources))
    if len(sources) > 1:
        defines = {path: count_definitions(source.read(), functions) for path, source in sources.items()}
        chosen = graded_file(list(sources), defines)
        others = ", ".join(sorted(set(sources) - {chosen}))
        warnings.append(f"{student}: grading {chosen}, not {others}")
    return Handin(student, chosen, sources[chosen])


def _conflict(student: str, files: Mapping[str, Mapping[str, Source]]) -> Absent:
    """Files under different owners' names for one id: no guess, the teacher decides."""
    paths = sorted(path for owned in files.values() for path in owned)
    shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    return Absent(student, f"{len(files)} different names claim this student id ({shown}); none was graded: "
                           "check whose files these are and grade the right one alone", "conflict")


def _group(
    files: Mapping[PurePosixPath, Source],
    scheme: str | None,
    id_pattern: re.Pattern[str] | None,
    functions: Sequence[str],
    warnings: list[str],
) -> tuple[list[Handin], list[Absent]]:
    """One hand-in per student from the candidate files, and a conflict for each id that several owners claim."""
    by_student: dict[str, dict[str, dict[str, Source]]] = {}
    for path, source in files.items():
        claim = claim_of(path, scheme, id_pattern)
        if claim is None:
            unread = "--id-pattern does not match it" if id_pattern else "whose it is cannot be told from its name"
            warnings.append(f"skipped {path}: {unread}")
            continue
        try:
            student = clean_id(claim.student_id)
        except BatchInputError as exc:
            warnings.append(f"skipped {path}: {exc}")
            continue
        by_student.setdefault(student, {}).setdefault(claim.owner, {})[path.as_posix()] = source
    handins, conflicts = [], []
    for student, owned in sorted(by_student.items()):
        if len(owned) > 1:
            conflicts.append(_conflict(student, owned))
        else:
            handins.append(_pick(student, next(iter(owned.values())), functions, warnings))
    return handins, conflicts


def _folder_files(folder: Path) -> dict[PurePosixPath, Source]:
    files: dict[PurePosixPath, Source] = {}
    for path in sorted(folder.rglob("*")):
        relative = PurePosixPath(path.relative_to(folder).as_posix())
        # A symlink could point anywhere on this machine; only real files are graded.
        if path.is_file() and not path.is_symlink() and _is_candidate(relative):
            files[relative] = FileSource(path)
    return files


def _empty_folders(folder: Path, known: set[str], scheme: str | None, warnings: list[str]) -> list[Absent]:
    """Students whose folder holds no file that could be graded (a .txt, a .zip, nothing)."""
    absent = []
    for child in sorted(folder.iterdir()):
        if child.is_dir() and not child.name.startswith(".") and child.name not in SKIPPED_DIRS:
            claim = lms_claim(child.name, scheme) if scheme is not None else None
            try:
                student = clean_id(claim.student_id if claim else child.name)
            except BatchInputError as exc:
                warnings.append(f"skipped the folder {child.name}: {exc}")
                continue
            if student not in known:
                absent.append(Absent(student, f"the folder {child.name} holds no .py or .ipynb file"))
    return absent


def _safe_member(info: zipfile.ZipInfo) -> PurePosixPath | None:
    """The member's relative path, None for directories, links and paths leaving the archive."""
    mode = info.external_attr >> 16
    if info.is_dir() or stat.S_ISLNK(mode):
        return None
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", name) or not path.parts:
        return None
    return path


def _zip_files(archive: Path, warnings: list[str]) -> dict[PurePosixPath, Source]:
    try:
        with zipfile.ZipFile(archive) as handle:
            members = handle.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise BatchInputError(f"{archive} is not a readable zip file: {exc}") from exc
    if len(members) > MAX_MEMBERS:
        raise BatchInputError(f"{archive} has {len(members)} entries; at most {MAX_MEMBERS} are read")
    files: dict[PurePosixPath, Source] = {}
    declared = 0
    for info in members:
        path = _safe_member(info)
        if path is None:
            if not info.is_dir():
                warnings.append(f"skipped zip entry {info.filename!r}: a link or a path outside the archive")
            continue
        if _is_candidate(path):
            declared += info.file_size
            files[path] = ZipSource(archive, info.filename)
    if declared > MAX_ARCHIVE_BYTES:
        raise BatchInputError(f"{archive} would unpack to {declared} bytes; at most {MAX_ARCHIVE_BYTES} are read")
    paths = _strip_wrappers(list(files))
    return dict(zip(paths, files.values()))


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchInputError(f"cannot read {path}: {exc}") from exc
    return [{(key or "").strip().lower(): (value or "").strip() for key, value in row.items()}
            for row in csv.DictReader(io.StringIO(text))]


def _column(rows: list[dict[str, str]], path: Path, names: Sequence[str]) -> str:
    """The first of `names` that is a column of the CSV."""
    columns = set(rows[0]) if rows else set()
    for name in names:
        if name in columns:
            return name
    raise BatchInputError(f"{path} needs a header with one of the columns {', '.join(names)}")


ID_COLUMNS = ("student_id", "id", "student", "username")
PATH_COLUMNS = ("path", "file", "submission")


def _manifest(manifest: Path, functions: Sequence[str], warnings: list[str]) -> tuple[list[Handin], list[Absent]]:
    """Hand-ins listed in a CSV (student id, path to a file or a folder; relative to the CSV)."""
    rows = _read_csv(manifest)
    id_column, path_column = _column(rows, manifest, ID_COLUMNS), _column(rows, manifest, PATH_COLUMNS)
    handins: list[Handin] = []
    absent: list[Absent] = []
    seen: set[str] = set()
    for row in rows:
        student = clean_id(row[id_column])
        if student in seen:
            raise BatchInputError(f"{manifest} lists {student} twice")
        seen.add(student)
        target = manifest.parent / row[path_column]
        if target.is_dir():
            files = {(PurePosixPath(row[path_column]) / path).as_posix(): source
                     for path, source in _folder_files(target).items()}
            if files:
                handins.append(_pick(student, files, functions, warnings))
            else:
                absent.append(Absent(student, f"the folder {row[path_column]} holds no .py or .ipynb file"))
        elif target.is_file():
            handins.append(Handin(student, row[path_column], FileSource(target)))
        else:
            absent.append(Absent(student, f"the manifest names {row[path_column]}, which does not exist"))
    return handins, absent


def read_roster(roster: Path) -> list[str]:
    """The student ids of a roster CSV (a header with a student_id, id, student or username column)."""
    rows = _read_csv(roster)
    column = _column(rows, roster, ID_COLUMNS)
    return [clean_id(row[column]) for row in rows if row[column]]


def discover(
    source: Path,
    functions: Sequence[str],
    *,
    roster: Path | None = None,
    id_pattern: str | None = None,
) -> Discovered:
    """Every hand-in of INPUT (a folder, a .zip or a .csv manifest) and who handed in nothing.

    `functions` are the graded function names, used to pick a student's file among several.
    """
    pattern = compile_id_pattern(id_pattern) if id_pattern else None
    warnings: list[str] = []
    source = Path(source)
    if source.is_dir() or source.suffix.lower() == ".zip":
        files = _folder_files(source) if source.is_dir() else _zip_files(source, warnings)
        scheme = None if pattern is not None else naming_scheme(path.parts[0] for path in files)
        handins, absent = _group(files, scheme, pattern, functions, warnings)
        if source.is_dir() and pattern is None:
            known = {handin.student_id for handin in handins} | {entry.student_id for entry in absent}
            absent += _empty_folders(source, known, scheme, warnings)
    elif source.suffix.lower() == ".csv":
        handins, absent = _manifest(source, functions, warnings)
    else:
        raise BatchInputError(f"{source} is not a folder, a .zip or a .csv manifest")
    if roster is not None:
        listed = read_roster(roster)
        known = {handin.student_id for handin in handins} | {entry.student_id for entry in absent}
        absent += [Absent(student, "nothing was handed in") for student in dict.fromkeys(listed) if student not in known]
        strangers = sorted(known - set(listed))
        if strangers:
            warnings.append(f"not on the roster, graded anyway: {', '.join(strangers)}")
    return Discovered(tuple(handins), tuple(sorted(absent, key=lambda entry: entry.student_id)), tuple(warnings))
