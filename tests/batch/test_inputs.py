"""Finding each student's file in a folder, an LMS zip or a CSV manifest, and who handed in nothing."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from grader.assignment import load_assignment
from grader.batch.inputs import (
    MAX_MEMBERS,
    BatchInputError,
    clean_id,
    discover,
    graded_file,
    lms_claim,
)
from grader.batch.run import grade_batch
from grader.notebook import MAX_NOTEBOOK_BYTES, strip
from grader.submission import Rejected
from tests.batch.conftest import correct, write_tree, write_zip
from tests.conftest import CORRECT
from tests.notebook_files import MB, correct_notebook, dump, notebook_with_figures

FUNCTIONS = list(load_assignment().functions)


def _found(source: Path, **options) -> dict[str, str]:
    """{student id: path of the chosen file} for a batch input."""
    return {handin.student_id: handin.path for handin in discover(source, FUNCTIONS, **options).handins}


def test_folder_with_a_file_per_student_names_students_by_file_stem(tmp_path):
    write_tree(tmp_path, {"alice.py": correct(), "bob.ipynb": "{}"})
    assert _found(tmp_path) == {"alice": "alice.py", "bob": "bob.ipynb"}


def test_folder_per_student_picks_the_file_defining_the_graded_functions(tmp_path):
    write_tree(tmp_path, {"alice/utils.py": "def helper():\n    pass\n", "alice/zz_work/solution.py": correct()})
    assert _found(tmp_path) == {"alice": "alice/zz_work/solution.py"}


def test_folder_per_student_with_a_single_python_file_grades_it_whatever_it_defines(tmp_path):
    write_tree(tmp_path, {"bob/anything.py": "x = 1\n", "bob/readme.txt": "hello"})
    assert _found(tmp_path) == {"bob": "bob/anything.py"}


def test_notebook_defining_the_functions_wins_over_a_helper_script(tmp_path):
    notebook = (CORRECT / "notebook.ipynb").read_text()
    write_tree(tmp_path, {"carol/helpers.py": "import numpy as np\n", "carol/Regularization.ipynb": notebook})
    assert _found(tmp_path) == {"carol": "carol/Regularization.ipynb"}


def test_checkpoints_caches_and_hidden_files_are_never_graded(tmp_path):
    write_tree(tmp_path, {
        "dave/.ipynb_checkpoints/solution-checkpoint.py": correct(),
        "dave/__pycache__/solution.py": correct(),
        "dave/.hidden.py": correct(),
        "dave/solution.py": "x = 1\n",
    })
    assert _found(tmp_path) == {"dave": "dave/solution.py"}


def test_student_folder_without_python_files_is_absent_with_the_reason(tmp_path):
    write_tree(tmp_path, {"alice.py": correct(), "erin/report.pdf": "%PDF"})
    found = discover(tmp_path, FUNCTIONS)
    assert [(entry.student_id, entry.reason) for entry in found.absent] == [
        ("erin", "the folder erin holds no .py or .ipynb file")]


def test_an_empty_folder_whose_name_is_no_student_id_is_skipped_with_a_warning(tmp_path):
    write_tree(tmp_path, {"alice.py": correct(), "___/notes.txt": "nothing"})
    found = discover(tmp_path, FUNCTIONS)
    assert [handin.student_id for handin in found.handins] == ["alice"]
    assert found.absent == ()
    assert any("___" in warning and "student id" in warning for warning in found.warnings)


def test_graded_file_breaks_ties_towards_the_newest_attempt():
    attempts = ["hw_jdoe_attempt_2024-01-01-10-00-00_a.py", "hw_jdoe_attempt_2024-01-02-10-00-00_a.py"]
    assert graded_file(attempts, {}) == attempts[1]


@pytest.mark.parametrize(("member", "student"), [
    ("smith_jane_12345_67890_solution.py", "12345"),
    ("doejohn_12345_67890_solution.py", "12345"),
    ("doejohn_late_12345_67890_solution-1.py", "12345"),
    ("s1234567_98765_solution.py", "s1234567"),
    ("1234567_solution.py", "1234567"),
    ("Jane Smith_4242_assignsubmission_file_/solution.py", "4242"),
    ("Jane Smith_4242_assignsubmission_file_solution.py", "4242"),
    ("Week 1 Regularization_jsmith3_attempt_2024-01-31-23-59-59_solution.py", "jsmith3"),
])
def test_lms_zip_names_give_the_student_id(tmp_path, member, student):
    archive = write_zip(tmp_path / "export.zip", {member: correct()})
    assert _found(archive) == {student: member}


@pytest.mark.parametrize(("component", "scheme", "expected"), [
    ("Jane Smith_4242_assignsubmission_file_", "moodle", "4242"),
    ("smith_jane_12345_67890_sol.py", "canvas", "12345"),
    ("hw_jsmith_attempt_2024-01-31-23-59-59", "attempt", "jsmith"),
    ("alice.py", "canvas", None),
    ("alice", "id-first", None),
    ("Jane Smith_4242_assignsubmission_file_", "canvas", None),
])
def test_lms_claim_reads_only_names_of_its_own_lms(component, scheme, expected):
    claim = lms_claim(component, scheme)
    assert (claim and claim.student_id) == expected


# An upload name shaped like another LMS's prefix must not move the file to the student it names.
@pytest.mark.parametrize(("victim", "attacker", "attacker_id"), [
    ("vic_4242_10_solution.py", "eve_1111_11_x_4242_assignsubmission_file_.py", "1111"),
    ("vic_4242_10_solution.py", "eve_1111_11_x_4242_attempt_2024-01-01-00-00-00_.py", "1111"),
    ("vic_4242_10_solution.py", "eve_1111_11__4242_1_x.py", "1111"),
    ("4242_10_solution.py", "1111_11_x_4242_assignsubmission_file_.py", "1111"),
    ("HW_4242_attempt_2024-01-31-23-59-59_solution.py",
     "HW_1111_attempt_2024-01-31-23-59-59_x_4242_assignsubmission_file_.py", "1111"),
    ("Vic Tim_4242_assignsubmission_file_/solution.py",
     "Eve Vil_1111_assignsubmission_file_/Vic Tim_4242_assignsubmission_file_/solution.py", "1111"),
])
def test_an_upload_named_like_another_students_prefix_stays_with_its_uploader(tmp_path, victim, attacker,
                                                                               attacker_id):
    archive = write_zip(tmp_path / "export.zip", {victim: correct("victim"), attacker: correct("attacker")})
    assert _found(archive) == {"4242": victim, attacker_id: attacker}


def test_a_moodle_name_holding_two_id_markers_is_attributed_to_nobody(tmp_path):
    crafted = "x_4242_assignsubmission_file_ Eve_1111_assignsubmission_file_solution.py"
    archive = write_zip(tmp_path / "moodle.zip", {"Vic Tim_4242_assignsubmission_file_solution.py": correct("v"),
                                                  crafted: correct("e")})
    found = discover(archive, FUNCTIONS)
    assert {handin.student_id: handin.path for handin in found.handins} == {
        "4242": "Vic Tim_4242_assignsubmission_file_solution.py"}
    assert f"skipped {crafted}: whose it is cannot be told from its name" in found.warnings


def test_names_of_two_lms_in_one_archive_are_refused(tmp_path):
    archive = write_zip(tmp_path / "mixed.zip", {"vic_4242_10_solution.py": correct("v"),
                                                 "Eve_1111_assignsubmission_file_solution.py": correct("e"),
                                                 "amy_5_12_solution.py": correct("a")})
    with pytest.raises(BatchInputError, match="do not fit the canvas naming.*Eve_1111"):
        discover(archive, FUNCTIONS)


def test_a_name_that_two_lms_read_as_different_students_is_refused(tmp_path):
    archive = write_zip(tmp_path / "one.zip", {"eve_1111_11_x_4242_assignsubmission_file_.py": correct()})
    with pytest.raises(BatchInputError, match="--id-pattern"):
        discover(archive, FUNCTIONS)


def test_files_of_two_owners_claiming_one_id_are_a_conflict_and_neither_is_graded(tmp_path):
    archive = write_zip(tmp_path / "canvas.zip", {"smith_jane_4242_1_solution.py": correct("jane"),
                                                  "evil_eve_4242_2_solution.py": correct("eve"),
                                                  "amy_5_3_solution.py": correct("amy")})
    found = discover(archive, FUNCTIONS)
    assert [handin.student_id for handin in found.handins] == ["5"]
    (conflict,) = found.absent
    assert (conflict.student_id, conflict.status) == ("4242", "conflict")
    assert "evil_eve_4242_2_solution.py" in conflict.reason and "smith_jane_4242_1_solution.py" in conflict.reason


def test_one_canvas_student_on_time_and_late_is_one_student_not_a_conflict(tmp_path):
    archive = write_zip(tmp_path / "canvas.zip", {"smith_jane_4242_1_solution.py": "x = 1\n",
                                                  "smith_jane_late_4242_2_solution-1.py": correct()})
    found = discover(archive, FUNCTIONS)
    assert ({handin.student_id: handin.path for handin in found.handins}, found.absent) == (
        {"4242": "smith_jane_late_4242_2_solution-1.py"}, ())


def test_plain_names_that_clean_to_one_id_are_a_conflict(tmp_path):
    write_tree(tmp_path, {"Jane Smith.py": correct("a"), "Jane_Smith.py": correct("b")})
    found = discover(tmp_path, FUNCTIONS)
    assert found.handins == ()
    assert [(entry.student_id, entry.status) for entry in found.absent] == [("Jane_Smith", "conflict")]


def test_id_pattern_text_before_the_id_names_the_owner(tmp_path):
    write_tree(tmp_path, {"eve-42.py": correct("e"), "bob-42.py": correct("b"), "bob-7.py": correct("7")})
    found = discover(tmp_path, FUNCTIONS, id_pattern=r"^(?P<name>[a-z]+)-(?P<id>\d+)")
    assert [handin.student_id for handin in found.handins] == ["7"]
    assert [(entry.student_id, entry.status) for entry in found.absent] == [("42", "conflict")]


def test_moodle_folders_nested_in_a_wrapper_folder_are_found(tmp_path):
    archive = write_zip(tmp_path / "moodle.zip", {
        "Week1-Regularization/Jane Smith_4242_assignsubmission_file_/work/solution.py": correct(),
        "Week1-Regularization/Jane Smith_4242_assignsubmission_file_/work/plots.py": "import numpy\n",
        "Week1-Regularization/Ali Khan_777_assignsubmission_file_/Regularization.py": correct("ali"),
    })
    assert _found(archive) == {
        "4242": "Jane Smith_4242_assignsubmission_file_/work/solution.py",
        "777": "Ali Khan_777_assignsubmission_file_/Regularization.py",
    }


def test_plain_folders_zipped_inside_a_wrapper_folder_are_found(tmp_path):
    archive = write_zip(tmp_path / "class.zip", {"class/alice/solution.py": correct(), "class/bob.py": correct("b")})
    assert _found(archive) == {"alice": "alice/solution.py", "bob": "bob.py"}


def test_id_pattern_overrides_the_built_in_names(tmp_path):
    archive = write_zip(tmp_path / "custom.zip", {"hw1-u123.py": correct(), "hw1-u456.py": correct("x"),
                                                  "notes.py": "x = 1\n"})
    found = discover(archive, FUNCTIONS, id_pattern=r"-(?P<id>u\d+)\.py$")
    assert {handin.student_id for handin in found.handins} == {"u123", "u456"}
    assert any("notes.py" in warning for warning in found.warnings)


def test_id_pattern_without_an_id_group_is_refused(tmp_path):
    with pytest.raises(BatchInputError, match="named group"):
        discover(tmp_path, FUNCTIONS, id_pattern=r"(\d+)")


def test_zip_slip_entries_are_skipped_and_nothing_is_written_outside(tmp_path):
    target = tmp_path / "work"
    target.mkdir()
    archive = write_zip(target / "evil.zip", {
        "../../escaped.py": correct(),
        "/etc/cron.d/evil.py": correct(),
        "C:/windows/evil.py": correct(),
        "alice/../../evil2.py": correct(),
        "bob.py": correct(),
    })
    found = discover(archive, FUNCTIONS)
    assert [handin.student_id for handin in found.handins] == ["bob"]
    assert len([warning for warning in found.warnings if "outside the archive" in warning]) == 4
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["evil.zip", "work"]
    assert found.handins[0].submission().content == correct().encode()


def test_symlink_entries_in_a_zip_are_skipped(tmp_path):
    archive = tmp_path / "links.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        link = zipfile.ZipInfo("mallory.py")
        link.external_attr = (0o120777 << 16)
        handle.writestr(link, "/etc/passwd")
        handle.writestr("bob.py", correct())
    assert _found(archive) == {"bob": "bob.py"}


def test_zip_with_too_many_entries_is_refused(tmp_path):
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for index in range(MAX_MEMBERS + 1):
            handle.writestr(f"f{index}.txt", "")
    with pytest.raises(BatchInputError, match="entries"):
        discover(archive, FUNCTIONS)


def test_zip_members_are_read_capped_at_the_submission_limit(tmp_path):
    from grader.submission import MAX_BYTES

    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("bomb.py", b"#" * (MAX_BYTES * 8))
    (handin,) = discover(archive, FUNCTIONS).handins
    assert len(handin.submission().content) == MAX_BYTES + 1


def test_zip_notebook_members_are_read_without_their_outputs(tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("alice_12345_assignsubmission_file_/Regularization.ipynb", notebook_with_figures(20 * MB))
    (handin,) = discover(archive, FUNCTIONS).handins
    submission = handin.submission()
    submission.check()
    assert submission.content == strip(dump(correct_notebook()))


def test_zip_notebook_members_are_read_only_up_to_the_notebook_ceiling(tmp_path):
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("bomb.ipynb", b" " * (MAX_NOTEBOOK_BYTES * 2))
    (handin,) = discover(archive, FUNCTIONS).handins
    with pytest.raises(Rejected, match="larger than 32 MB"):
        handin.submission().check()


def test_csv_manifest_notebooks_are_read_without_their_outputs(tmp_path):
    (tmp_path / "work.ipynb").write_bytes(notebook_with_figures(5 * MB))
    (tmp_path / "m.csv").write_text("student_id,path\nalice,work.ipynb\n")
    (handin,) = discover(tmp_path / "m.csv", FUNCTIONS).handins
    assert handin.submission().content == strip(dump(correct_notebook()))


@pytest.mark.slow
@pytest.mark.parametrize("megabytes", [1, 5, 20])
def test_grade_batch_gives_full_marks_to_a_zipped_notebook_with_figures(tmp_path, megabytes):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("alice_12345_assignsubmission_file_/Regularization.ipynb",
                        notebook_with_figures(megabytes * MB))
    result = grade_batch(archive, tmp_path / "out", backend="process")
    report = result.reports["12345"]
    assert (report.status, report.score) == ("graded", 80), report.message


def test_csv_manifest_lists_files_and_folders_relative_to_itself(tmp_path):
    write_tree(tmp_path, {
        "subs/a.py": correct(),
        "subs/b/main.py": correct("b"),
        "subs/b/util.py": "x = 1\n",
        "manifest.csv": "student_id,path\nalice,subs/a.py\nbob,subs/b\ncarol,subs/nothing.py\n",
    })
    found = discover(tmp_path / "manifest.csv", FUNCTIONS)
    assert {handin.student_id: handin.path for handin in found.handins} == {"alice": "subs/a.py",
                                                                         "bob": "subs/b/main.py"}
    assert [(entry.student_id, entry.reason) for entry in found.absent] == [
        ("carol", "the manifest names subs/nothing.py, which does not exist")]


def test_csv_manifest_listing_a_student_twice_is_refused(tmp_path):
    write_tree(tmp_path, {"a.py": correct(), "m.csv": "id,file\nalice,a.py\nalice,a.py\n"})
    with pytest.raises(BatchInputError, match="twice"):
        discover(tmp_path / "m.csv", FUNCTIONS)


def test_csv_manifest_without_the_needed_columns_is_refused(tmp_path):
    write_tree(tmp_path, {"m.csv": "name,where\nalice,a.py\n"})
    with pytest.raises(BatchInputError, match="student_id"):
        discover(tmp_path / "m.csv", FUNCTIONS)


def test_roster_students_without_a_file_are_absent_and_strangers_are_warned_about(tmp_path):
    write_tree(tmp_path, {"in/alice.py": correct(), "in/zed.py": correct("z"),
                          "roster.csv": "student_id,name\nalice,Alice\nbob,Bob\n"})
    found = discover(tmp_path / "in", FUNCTIONS, roster=tmp_path / "roster.csv")
    assert [(entry.student_id, entry.reason) for entry in found.absent] == [("bob", "nothing was handed in")]
    assert "not on the roster, graded anyway: zed" in found.warnings


@pytest.mark.parametrize(("raw", "cleaned"), [
    ("Jane Smith", "Jane_Smith"),
    ("../../etc", "etc"),
    ("=cmd|' /C calc'!A0", "cmd_C_calc_A0"),
    ("@SUM", "SUM"),
    ("s123.py", "s123.py"),
])
def test_student_ids_are_safe_file_names(raw, cleaned):
    assert clean_id(raw) == cleaned


def test_an_input_that_is_no_folder_zip_or_csv_is_refused(tmp_path):
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(BatchInputError, match="not a folder"):
        discover(tmp_path / "x.txt", FUNCTIONS)


def test_a_symlinked_handin_is_refused_as_a_symlink(tmp_path):
    from grader.batch.inputs import FileSource, Handin
    from grader.submission import Rejected

    target = tmp_path / "other_student.py"
    target.write_text("x = 1\n")
    link = tmp_path / "mine.py"
    link.symlink_to(target)
    submission = Handin(student_id="s1", path="mine.py", source=FileSource(link)).submission()
    with pytest.raises(Rejected, match="link"):
        submission.check()
