"""Tests of outpost_pipes.py: each runs a real Python child process that uses the client, with the
context file and the message channel set up as the launcher does, and reads back what it sent."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
from typing import Any, Dict, List, NamedTuple, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_MESSAGE_BYTES = 1024 * 1024

CONTEXT: Dict[str, Any] = {
    "protocol": 1,
    "run": {"id": "run-1", "name": "brave-otter", "attempt": 1, "flowName": "churn", "deploymentName": "churn/prod"},
    "task": {"runId": "task-run-1", "name": "model", "key": "model-0", "attempt": 1},
    "asset": {"key": "churn/model", "codeVersion": "3f2a1b9c"},
    "partition": {"key": "2026-01-06"},
    "extras": {"epochs": 20},
}


class Child(NamedTuple):
    returncode: int
    raw: bytes
    messages: List[Dict[str, Any]]
    stdout: str
    stderr: str


def message(method: str, **params: Any) -> Dict[str, Any]:
    return {"outpost_pipes": 1, "method": method, "params": params}


class PipesTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="outpost-pipes-test-")
        self.addCleanup(shutil.rmtree, self.directory, True)

    def run_child(
        self,
        source: str,
        channel: Optional[str] = "fd",
        context: Optional[Any] = CONTEXT,
        env: Optional[Dict[str, str]] = None,
    ) -> Child:
        """Runs ``source`` as a script with the client importable. ``channel`` is "fd" (a pipe on
        descriptor 3), "file" (a messages file), or None (no Pipes environment at all)."""
        script = os.path.join(self.directory, "script.py")
        with open(script, "w", encoding="utf-8") as file:
            file.write(textwrap.dedent(source))
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("OUTPOST_PIPES_")}
        child_env.update(PYTHONPATH=HERE, PYTHONDONTWRITEBYTECODE="1", PYTHONIOENCODING="utf-8")
        if channel is not None:
            context_path = os.path.join(self.directory, "context.json")
            with open(context_path, "w", encoding="utf-8") as file:
                file.write(context if isinstance(context, str) else json.dumps(context))
            child_env["OUTPOST_PIPES_CONTEXT"] = context_path
        messages_path = os.path.join(self.directory, "messages.jsonl")
        if channel == "file":
            open(messages_path, "wb").close()
            child_env["OUTPOST_PIPES_MESSAGES"] = "file:" + messages_path
        elif channel == "fd":
            child_env["OUTPOST_PIPES_MESSAGES"] = "fd:3"
        child_env.update(env or {})

        out_path = os.path.join(self.directory, "stdout.txt")
        err_path = os.path.join(self.directory, "stderr.txt")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            if channel == "fd":
                read_end, write_end = os.pipe()
                try:
                    process = subprocess.Popen(
                        [sys.executable, script],
                        env=child_env,
                        cwd=self.directory,
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=err,
                        close_fds=False,
                        preexec_fn=lambda: os.dup2(write_end, 3),
                    )
                finally:
                    os.close(write_end)
                # Read until every write end is closed: the client closed it, or the child exited.
                with os.fdopen(read_end, "rb") as reader:
                    raw = reader.read()
            else:
                process = subprocess.Popen(
                    [sys.executable, script], env=child_env, cwd=self.directory, stdin=subprocess.DEVNULL, stdout=out, stderr=err
                )
                raw = b""
            returncode = process.wait(timeout=60)
        if channel == "file":
            with open(messages_path, "rb") as file:
                raw = file.read()
        with open(out_path, encoding="utf-8") as file:
            stdout = file.read()
        with open(err_path, encoding="utf-8") as file:
            stderr = file.read()
        messages = []
        if raw:
            self.assertTrue(raw.endswith(b"\n"), "the last message ends with a newline")
            messages = [json.loads(line) for line in raw.decode("utf-8").split("\n")[:-1]]
        return Child(returncode, raw, messages, stdout, stderr)

    def assertSucceeded(self, child: Child) -> None:
        self.assertEqual(child.returncode, 0, f"the child failed:\n{child.stderr}")


class ReportsTest(PipesTestCase):
    def test_sends_opened_first_then_each_report_in_order_and_closed_last_on_descriptor_3(self) -> None:
        child = self.run_child(
            """
            from outpost_pipes import open_pipes

            with open_pipes() as pipes:
                pipes.log.debug("loading")
                pipes.log.info("epoch 3: loss 0.21")
                pipes.log.warning("slow epoch")
                pipes.log.error("one shard missing")
                pipes.report_metadata({"auc": 0.91, "model_path": "s3://ml-bucket/churn/model.pkl"})
                pipes.report_check("auc_above_0_8", passed=True, metadata={"auc": 0.91})
                pipes.report_check("rows_non_empty", False)
                pipes.report_markdown("report", "# AUC\\n\\n**0.91**")
                pipes.report_table("metrics", [{"epoch": 1, "loss": 0.4}, {"epoch": 2, "loss": 0.2}])
                pipes.report_link("model", "https://models.internal/churn/42", "churn model v42")
                pipes.report_link("docs", "http://docs.internal/churn")
                pipes.report_progress("training", 0.5, description="epochs done")
                pipes.report_artifact("progress", "training", progress=1)
                pipes.report_result({"auc": 0.91, "epochs": pipes.extras["epochs"]})
            print("done")
            """
        )
        self.assertSucceeded(child)
        self.assertEqual(
            child.messages,
            [
                message("opened"),
                message("log", level="debug", message="loading"),
                message("log", level="info", message="epoch 3: loss 0.21"),
                message("log", level="warning", message="slow epoch"),
                message("log", level="error", message="one shard missing"),
                message("metadata", values={"auc": 0.91, "model_path": "s3://ml-bucket/churn/model.pkl"}),
                message("check", name="auc_above_0_8", passed=True, metadata={"auc": 0.91}),
                message("check", name="rows_non_empty", passed=False),
                message("artifact", type="markdown", key="report", markdown="# AUC\n\n**0.91**"),
                message("artifact", type="table", key="metrics", rows=[{"epoch": 1, "loss": 0.4}, {"epoch": 2, "loss": 0.2}]),
                message("artifact", type="link", key="model", url="https://models.internal/churn/42", text="churn model v42"),
                message("artifact", type="link", key="docs", url="http://docs.internal/churn", text=None),
                message("artifact", type="progress", key="training", progress=0.5, description="epochs done"),
                message("artifact", type="progress", key="training", progress=1),
                message("result", value={"auc": 0.91, "epochs": 20}),
                message("closed"),
            ],
        )
        self.assertEqual(child.stdout, "done\n", "stdout stays the script's own")
        self.assertEqual(child.raw.split(b"\n")[0], b'{"outpost_pipes": 1, "method": "opened", "params": {}}')

    def test_appends_whole_lines_to_the_messages_file_of_a_file_channel(self) -> None:
        child = self.run_child(
            """
            from outpost_pipes import open_pipes

            with open_pipes() as pipes:
                pipes.report_metadata({"städte": ["Zürich", "東京"]})
            """,
            channel="file",
        )
        self.assertSucceeded(child)
        self.assertEqual(child.messages, [message("opened"), message("metadata", values={"städte": ["Zürich", "東京"]}), message("closed")])
        self.assertIn("Zürich".encode("utf-8"), child.raw, "text is written as UTF-8, not escaped")

    def test_keeps_what_the_messages_file_already_holds(self) -> None:
        path = os.path.join(self.directory, "earlier.jsonl")
        with open(path, "wb") as file:
            file.write(b'{"outpost_pipes": 1, "method": "log", "params": {"level": "info", "message": "before"}}\n')
        child = self.run_child(
            """
            from outpost_pipes import open_pipes

            with open_pipes() as pipes:
                pipes.report_result(1)
            """,
            channel=None,
            env={"OUTPOST_PIPES_CONTEXT": self.write_context(CONTEXT), "OUTPOST_PIPES_MESSAGES": "file:" + path},
        )
        self.assertSucceeded(child)
        with open(path, encoding="utf-8") as file:
            lines = [json.loads(line) for line in file]
        self.assertEqual(
            lines,
            [message("log", level="info", message="before"), message("opened"), message("result", value=1), message("closed")],
        )

    def write_context(self, context: Dict[str, Any]) -> str:
        path = os.path.join(self.directory, "own-context.json")
        with open(path, "w", encoding="utf-8") as file:
            json.dump(context, file)
        return path


class ClosingTest(PipesTestCase):
    def test_reports_an_exception_that_escapes_the_block_with_its_traceback_and_exits_non_zero(self) -> None:
        child = self.run_child(
            """
            from outpost_pipes import open_pipes

            def train():
                raise ValueError("no rows in features")

            with open_pipes() as pipes:
                pipes.log.info("starting")
                train()
            """
        )
        self.assertEqual(child.returncode, 1)
        self.assertEqual([m["method"] for m in child.messages], ["opened", "log", "closed"])
        error = child.messages[-1]["params"]["error"]
        self.assertEqual(set(error), {"type", "message", "traceback"})
        self.assertEqual(error["type"], "ValueError")
        self.assertEqual(error["message"], "no rows in features")
        self.assertTrue(error["traceback"].startswith("Traceback (most recent call last):\n"))
        self.assertIn('raise ValueError("no rows in features")', error["traceback"])
        self.assertTrue(error["traceback"].endswith("ValueError: no rows in features\n"))
        self.assertIn("ValueError: no rows in features", child.stderr, "the exception is raised again")

    def test_names_an_exception_of_a_module_with_its_module(self) -> None:
        child = self.run_child(
            """
            import json
            from outpost_pipes import open_pipes

            with open_pipes():
                json.loads("{")
            """
        )
        self.assertEqual(child.returncode, 1)
        self.assertEqual(child.messages[-1]["params"]["error"]["type"], "json.decoder.JSONDecodeError")

    def test_closes_without_an_error_on_sys_exit_0_and_with_one_on_a_non_zero_exit(self) -> None:
        ok = self.run_child(
            """
            import sys
            from outpost_pipes import open_pipes

            with open_pipes():
                sys.exit(0)
            """
        )
        self.assertSucceeded(ok)
        self.assertEqual(ok.messages, [message("opened"), message("closed")])
        failed = self.run_child(
            """
            import sys
            from outpost_pipes import open_pipes

            with open_pipes():
                sys.exit(3)
            """
        )
        self.assertEqual(failed.returncode, 3)
        self.assertEqual(failed.messages[-1]["params"]["error"]["type"], "SystemExit")
        self.assertEqual(failed.messages[-1]["params"]["error"]["message"], "3")

    def test_works_without_a_with_block_when_the_script_calls_close(self) -> None:
        child = self.run_child(
            """
            from outpost_pipes import open_pipes

            pipes = open_pipes()
            pipes.report_result("ok")
            pipes.close()
            pipes.close()
            try:
                pipes.report_result("late")
            except RuntimeError as error:
                print(error)
            """
        )
        self.assertSucceeded(child)
        self.assertEqual(child.messages, [message("opened"), message("result", value="ok"), message("closed")])
        self.assertEqual(child.stdout, "outpost_pipes: cannot send result: the client is closed\n")

    def test_closes_at_exit_when_the_script_never_calls_close(self) -> None:
        child = self.run_child(
            """
            from outpost_pipes import open_pipes

            pipes = open_pipes()
            pipes.report_result("ok")
            """
        )
        self.assertSucceeded(child)
        self.assertEqual(child.messages, [message("opened"), message("result", value="ok"), message("closed")])

    def test_reports_an_uncaught_exception_when_the_script_never_calls_close(self) -> None:
        child = self.run_child(
            """
            from outpost_pipes import open_pipes

            pipes = open_pipes()
            raise KeyError("epochs")
            """
        )
        self.assertEqual(child.returncode, 1)
        self.assertEqual([m["method"] for m in child.messages], ["opened", "closed"])
        error = child.messages[-1]["params"]["error"]
        self.assertEqual((error["type"], error["message"]), ("KeyError", "'epochs'"))
        self.assertIn("KeyError: 'epochs'", child.stderr, "Python still prints the traceback")

    def test_close_with_a_message_reports_it_as_the_error(self) -> None:
        child = self.run_child(
            """
            from outpost_pipes import open_pipes

            open_pipes().close(error="the cluster refused the job")
            """
        )
        self.assertSucceeded(child)
        self.assertEqual(
            child.messages[-1], message("closed", error={"type": "Error", "message": "the cluster refused the job", "traceback": None})
        )


class ContextTest(PipesTestCase):
    def test_exposes_the_context_fields_and_their_conveniences(self) -> None:
        child = self.run_child(
            """
            from outpost_pipes import open_pipes

            with open_pipes() as pipes:
                c = pipes.context
                pipes.report_result({
                    "protocol": c.protocol,
                    "run_id": c.run_id,
                    "run": dict(c.run),
                    "flow": [c.run.flowName, c.run.flow_name, c.run["flowName"], c["run"]["name"]],
                    "deployment": c.run.deployment_name,
                    "task": c.task.key,
                    "asset_key": c.asset_key,
                    "code_version": c.asset.code_version,
                    "partition_key": c.partition_key,
                    "extras": pipes.extras,
                    "same_extras": pipes.extras is c.extras,
                })
            """
        )
        self.assertSucceeded(child)
        self.assertEqual(
            child.messages[1]["params"]["value"],
            {
                "protocol": 1,
                "run_id": "run-1",
                "run": CONTEXT["run"],
                "flow": ["churn", "churn", "churn", "brave-otter"],
                "deployment": "churn/prod",
                "task": "model-0",
                "asset_key": "churn/model",
                "code_version": "3f2a1b9c",
                "partition_key": "2026-01-06",
                "extras": {"epochs": 20},
                "same_extras": True,
            },
        )

    def test_gives_none_for_a_task_asset_and_partition_that_do_not_apply(self) -> None:
        context = dict(CONTEXT, task=None, asset=None, partition=None)
        del context["extras"]
        child = self.run_child(
            """
            from outpost_pipes import open_pipes

            with open_pipes() as pipes:
                c = pipes.context
                pipes.report_result([c.task, c.asset, c.partition, c.asset_key, c.partition_key, pipes.extras])
            """,
            context=context,
        )
        self.assertSucceeded(child)
        self.assertEqual(child.messages[1]["params"]["value"], [None, None, None, None, None, {}])

    def test_reads_a_newer_protocol_version_and_ignores_fields_it_does_not_know(self) -> None:
        context = dict(CONTEXT, protocol=2, schedule={"name": "nightly"}, run=dict(CONTEXT["run"], tags=["ml"]))
        child = self.run_child(
            """
            from outpost_pipes import open_pipes

            with open_pipes() as pipes:
                c = pipes.context
                pipes.report_result([c.protocol, c.run_id, c.partition_key, hasattr(c, "schedule")])
            """,
            context=context,
        )
        self.assertSucceeded(child)
        self.assertEqual(child.messages[1]["params"]["value"], [2, "run-1", "2026-01-06", False])
        self.assertEqual(child.messages[0], message("opened"), "messages stay at protocol version 1")

    def test_the_context_is_read_only(self) -> None:
        child = self.run_child(
            """
            from outpost_pipes import open_pipes

            with open_pipes() as pipes:
                refused = []
                for change in (lambda: setattr(pipes.context, "run", None), lambda: setattr(pipes.context.run, "id", "x")):
                    try:
                        change()
                    except AttributeError as error:
                        refused.append(str(error))
                pipes.report_result(refused)
            """
        )
        self.assertSucceeded(child)
        self.assertEqual(child.messages[1]["params"]["value"], ["the Pipes context is read-only"] * 2)

    def test_refuses_to_start_with_a_context_file_that_is_not_json_or_has_no_protocol(self) -> None:
        source = """
            from outpost_pipes import open_pipes

            open_pipes()
            """
        broken = self.run_child(source, context="{not json")
        self.assertEqual(broken.returncode, 1)
        self.assertIn("PipesError: outpost_pipes: the context file", broken.stderr)
        self.assertIn("is not JSON", broken.stderr)
        self.assertEqual(broken.messages, [], "nothing is sent before the context is read")
        unversioned = self.run_child(source, context={"run": CONTEXT["run"]})
        self.assertEqual(unversioned.returncode, 1)
        self.assertIn("has no valid protocol version (got None)", unversioned.stderr)

    def test_says_which_descriptor_is_missing_when_fd_3_is_not_open(self) -> None:
        child = self.run_child(
            """
            from outpost_pipes import open_pipes

            open_pipes()
            """,
            channel="file",
            env={"OUTPOST_PIPES_MESSAGES": "fd:3"},
        )
        self.assertEqual(child.returncode, 1)
        self.assertIn("PipesError: outpost_pipes: OUTPOST_PIPES_MESSAGES is fd:3, but descriptor 3 is not open", child.stderr)

    def test_refuses_a_messages_channel_it_does_not_know(self) -> None:
        child = self.run_child(
            """
            from outpost_pipes import open_pipes

            open_pipes()
            """,
            channel="file",
            env={"OUTPOST_PIPES_MESSAGES": "tcp:localhost:9000"},
        )
        self.assertEqual(child.returncode, 1)
        self.assertIn("OUTPOST_PIPES_MESSAGES must be fd:<number>, file:<path> or an http(s) URL, not 'tcp:localhost:9000'", child.stderr)


class LoggingHandlerTest(PipesTestCase):
    def test_forwards_logging_records_at_their_level_and_drops_those_after_close(self) -> None:
        child = self.run_child(
            """
            import logging
            from outpost_pipes import open_pipes

            logger = logging.getLogger("train")
            logger.setLevel(1)
            with open_pipes() as pipes:
                logger.addHandler(pipes.logging_handler())
                logger.debug("batch %d", 7)
                logger.info("epoch %d: loss %.2f", 3, 0.21)
                logger.warning("slow")
                logger.error("shard missing")
                logger.critical("out of memory")
                logger.log(5, "very fine detail")
                try:
                    {}["epochs"]
                except KeyError:
                    logger.exception("no epochs")
            logger.info("after close")
            print("still running")
            """
        )
        self.assertSucceeded(child)
        logs = [(m["params"]["level"], m["params"]["message"]) for m in child.messages if m["method"] == "log"]
        self.assertEqual(
            logs[:6],
            [
                ("debug", "batch 7"),
                ("info", "epoch 3: loss 0.21"),
                ("warning", "slow"),
                ("error", "shard missing"),
                ("error", "out of memory"),
                ("debug", "very fine detail"),
            ],
        )
        self.assertEqual(logs[6][0], "error")
        self.assertTrue(logs[6][1].startswith("no epochs\nTraceback (most recent call last):\n"))
        self.assertTrue(logs[6][1].endswith("KeyError: 'epochs'"))
        self.assertEqual(len(logs), 7)
        self.assertEqual(child.messages[-1], message("closed"))
        self.assertEqual(child.stdout, "still running\n")
        self.assertEqual(child.stderr, "", "a record after close is dropped quietly")

    def test_a_handler_level_filters_records(self) -> None:
        child = self.run_child(
            """
            import logging
            from outpost_pipes import open_pipes

            logging.basicConfig(level=logging.DEBUG, handlers=[])
            with open_pipes() as pipes:
                logging.getLogger().addHandler(pipes.logging_handler(logging.WARNING))
                logging.info("hidden")
                logging.warning("shown")
            """
        )
        self.assertSucceeded(child)
        self.assertEqual(child.messages[1:-1], [message("log", level="warning", message="shown")])


class FallbackTest(PipesTestCase):
    def test_prints_one_line_per_report_on_stderr_without_a_pipes_environment(self) -> None:
        child = self.run_child(
            """
            import logging
            from outpost_pipes import open_pipes

            with open_pipes() as pipes:
                logging.getLogger().addHandler(pipes.logging_handler())
                logging.warning("from logging")
                pipes.log.info("epoch %d" % pipes.extras.get("epochs", 10))
                pipes.report_metadata({"auc": 0.91})
                pipes.report_check("auc_above_0_8", passed=True, metadata={"auc": 0.91})
                pipes.report_check("rows", False)
                pipes.report_progress("training", 0.5)
                pipes.report_result([1, "two"])
                print("stdout", pipes.context.run_id, pipes.context.partition_key, pipes.extras)
            """,
            channel=None,
        )
        self.assertSucceeded(child)
        self.assertEqual(
            child.stderr.splitlines(),
            [
                "outpost_pipes: no OUTPOST_PIPES_CONTEXT in the environment, so reports are printed here",
                "outpost_pipes: [warning] from logging",
                "outpost_pipes: [info] epoch 10",
                'outpost_pipes: metadata {"auc": 0.91}',
                'outpost_pipes: check auc_above_0_8 passed {"auc": 0.91}',
                "outpost_pipes: check rows failed",
                'outpost_pipes: artifact progress training {"progress": 0.5}',
                'outpost_pipes: result [1, "two"]',
                "outpost_pipes: closed",
            ],
        )
        self.assertEqual(child.stdout, "stdout None None {}\n")

    def test_prints_the_error_when_the_block_fails_without_a_pipes_environment(self) -> None:
        child = self.run_child(
            """
            from outpost_pipes import open_pipes

            with open_pipes():
                raise RuntimeError("GPU not found")
            """,
            channel=None,
        )
        self.assertEqual(child.returncode, 1)
        self.assertIn("outpost_pipes: closed with error RuntimeError: GPU not found\n", child.stderr)
        self.assertTrue(child.stderr.rstrip().endswith("RuntimeError: GPU not found"))


class ValuesTest(PipesTestCase):
    def test_sends_non_finite_floats_as_text(self) -> None:
        child = self.run_child(
            """
            import math
            from decimal import Decimal
            from outpost_pipes import open_pipes

            with open_pipes() as pipes:
                pipes.report_metadata({"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "nested": [float("nan"), 1.5],
                                       "dnan": Decimal("NaN"), "dinf": Decimal("-Infinity")})
                pipes.report_result(float("inf"))
            """
        )
        self.assertSucceeded(child)
        self.assertEqual(
            child.messages[1:3],
            [
                message(
                    "metadata",
                    values={"nan": "NaN", "inf": "Infinity", "ninf": "-Infinity", "nested": ["NaN", 1.5], "dnan": "NaN", "dinf": "-Infinity"},
                ),
                message("result", value="Infinity"),
            ],
        )
        self.assertNotIn(b"NaN,", child.raw)

    def test_converts_values_json_has_no_type_for(self) -> None:
        child = self.run_child(
            """
            import datetime, enum, uuid
            from dataclasses import dataclass
            from decimal import Decimal
            from pathlib import Path
            from outpost_pipes import open_pipes

            class Scalar:
                # Shaped like a numpy scalar: item() gives the Python value.
                def item(self):
                    return 0.25

            class Array:
                # Shaped like a numpy array: tolist() gives nested lists.
                def tolist(self):
                    return [[1, 2], [3, float("nan")]]

            class Color(enum.Enum):
                RED = "red"

            @dataclass
            class Split:
                name: str
                rows: int

            class Opaque:
                def __str__(self):
                    return "opaque!"

            with open_pipes() as pipes:
                pipes.report_metadata({
                    "when": datetime.datetime(2026, 1, 6, 12, 30, tzinfo=datetime.timezone.utc),
                    "day": datetime.date(2026, 1, 6),
                    "took": datetime.timedelta(minutes=1, seconds=30),
                    "money": Decimal("12.50"),
                    "count": Decimal("3"),
                    "path": Path("/data/model.pkl"),
                    "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
                    "tuple": (1, 2),
                    "set": {3, 1, 2},
                    "bytes": b"caf\\xc3\\xa9",
                    "scalar": Scalar(),
                    "array": Array(),
                    "color": Color.RED,
                    "split": Split("train", 800),
                    "opaque": Opaque(),
                    1: "int key",
                    None: "none key",
                })
            """
        )
        self.assertSucceeded(child)
        self.assertEqual(
            child.messages[1]["params"]["values"],
            {
                "when": "2026-01-06T12:30:00+00:00",
                "day": "2026-01-06",
                "took": 90.0,
                "money": 12.5,
                "count": 3,
                "path": "/data/model.pkl",
                "id": "12345678-1234-5678-1234-567812345678",
                "tuple": [1, 2],
                "set": [1, 2, 3],
                "bytes": "café",
                "scalar": 0.25,
                "array": [[1, 2], [3, "NaN"]],
                "color": "red",
                "split": {"name": "train", "rows": 800},
                "opaque": "opaque!",
                "1": "int key",
                "null": "none key",
            },
        )

    def test_reports_a_table_from_anything_with_to_dict_records_like_a_data_frame(self) -> None:
        child = self.run_child(
            """
            from outpost_pipes import open_pipes

            class Frame:
                def to_dict(self, orient):
                    assert orient == "records"
                    return [{"epoch": 1, "loss": float("nan")}]

            with open_pipes() as pipes:
                pipes.report_table("metrics", Frame())
            """
        )
        self.assertSucceeded(child)
        self.assertEqual(child.messages[1], message("artifact", type="table", key="metrics", rows=[{"epoch": 1, "loss": "NaN"}]))

    def test_refuses_a_value_that_contains_itself(self) -> None:
        child = self.run_child(
            """
            from outpost_pipes import open_pipes

            with open_pipes() as pipes:
                loop = []
                loop.append(loop)
                try:
                    pipes.report_result(loop)
                except ValueError as error:
                    print(error)
                shared = [1]
                pipes.report_result([shared, shared])
            """
        )
        self.assertSucceeded(child)
        self.assertEqual(child.stdout, "outpost_pipes: cannot report a value that contains itself\n")
        self.assertEqual(child.messages[1:-1], [message("result", value=[[1], [1]])])

    def test_refuses_a_message_over_1_mib_and_sends_one_of_exactly_1_mib(self) -> None:
        # The line {"outpost_pipes": 1, "method": "result", "params": {"value": "…"}} plus its newline.
        overhead = len(json.dumps(message("result", value="")).encode("utf-8")) + 1
        child = self.run_child(
            f"""
            from outpost_pipes import open_pipes

            with open_pipes() as pipes:
                try:
                    pipes.report_result("x" * {MAX_MESSAGE_BYTES - overhead + 1})
                except ValueError as error:
                    print(error)
                pipes.report_result("x" * {MAX_MESSAGE_BYTES - overhead})
                pipes.report_result("small")
            """
        )
        self.assertSucceeded(child)
        self.assertEqual(
            child.stdout,
            f"outpost_pipes: the result message is {MAX_MESSAGE_BYTES + 1} bytes as JSON, more than the limit of "
            f"{MAX_MESSAGE_BYTES} bytes (1 MiB); report a smaller value, or write large data to a file and report its location\n",
        )
        lines = child.raw.split(b"\n")
        self.assertEqual(len(lines[1]) + 1, MAX_MESSAGE_BYTES)
        self.assertEqual([m["method"] for m in child.messages], ["opened", "result", "result", "closed"])
        self.assertEqual(child.messages[2], message("result", value="small"))

    def test_still_closes_when_the_error_is_larger_than_a_message(self) -> None:
        child = self.run_child(
            """
            from outpost_pipes import open_pipes

            with open_pipes():
                raise ValueError("x" * 2_000_000)
            """
        )
        self.assertEqual(child.returncode, 1)
        error = child.messages[-1]["params"]["error"]
        self.assertEqual(error["type"], "ValueError")
        self.assertEqual(len(error["message"]), 64 * 1024)
        self.assertLessEqual(len(child.raw.split(b"\n")[-2]) + 1, MAX_MESSAGE_BYTES)

    def test_refuses_reports_the_launcher_could_not_record_and_sends_nothing_for_them(self) -> None:
        child = self.run_child(
            """
            from outpost_pipes import open_pipes

            attempts = [
                lambda p: p.report_artifact("chart", "x"),
                lambda p: p.report_markdown("Report", "# x"),
                lambda p: p.report_link("model", "file:///etc/passwd"),
                lambda p: p.report_progress("training", 1.5),
                lambda p: p.report_progress("training", float("nan")),
                lambda p: p.report_table("metrics", [1, 2]),
                lambda p: p.report_artifact("link", "model", url="https://x", label="x"),
                lambda p: p.report_check("auc", passed=0.91),
                lambda p: p.report_check("", passed=True),
                lambda p: p.report_metadata([("auc", 0.9)]),
            ]
            with open_pipes() as pipes:
                for attempt in attempts:
                    try:
                        attempt(pipes)
                        print("accepted")
                    except (TypeError, ValueError) as error:
                        print(type(error).__name__, error)
            """
        )
        self.assertSucceeded(child)
        self.assertEqual(
            child.stdout.splitlines(),
            [
                "ValueError outpost_pipes: an artifact's type is one of markdown, table, link, progress, not 'chart'",
                "ValueError outpost_pipes: invalid artifact key 'Report': use lowercase letters, digits, '-' or '_', "
                "starting with a letter or digit, at most 100 characters",
                "ValueError outpost_pipes: a link artifact needs an http or https url=, not 'file:///etc/passwd'",
                "ValueError outpost_pipes: a progress artifact needs progress= as a number from 0 to 1, not 1.5",
                "ValueError outpost_pipes: a progress artifact needs progress= as a number from 0 to 1, not 'NaN'",
                "TypeError outpost_pipes: a table artifact needs rows= as a list of dicts",
                "TypeError outpost_pipes: a link artifact has no field 'label' (it takes url, text)",
                "TypeError outpost_pipes: report_check expects passed to be True or False, not 0.91",
                "TypeError outpost_pipes: report_check expects the check's name as a non-empty string",
                "TypeError outpost_pipes: report_metadata expects a dict, not list",
            ],
        )
        self.assertEqual(child.messages, [message("opened"), message("closed")])


class ThreadsTest(PipesTestCase):
    def test_threads_reporting_at_once_produce_only_whole_lines(self) -> None:
        threads, per_thread = 8, 150
        child = self.run_child(
            f"""
            import logging, threading
            from outpost_pipes import open_pipes

            with open_pipes() as pipes:
                logger = logging.getLogger("train")
                logger.addHandler(pipes.logging_handler())
                logger.setLevel(logging.INFO)
                start = threading.Barrier({threads})

                def work(number):
                    start.wait()
                    for i in range({per_thread}):
                        # Lines up to 200 KB, far above the size a pipe writes in one piece.
                        padding = "x" * ((i * 7919) % 200_000)
                        if i % 2:
                            logger.info("%d %d %s", number, i, padding)
                        else:
                            pipes.report_metadata({{"thread": number, "i": i, "padding": padding}})

                workers = [threading.Thread(target=work, args=(n,)) for n in range({threads})]
                for worker in workers:
                    worker.start()
                for worker in workers:
                    worker.join()
            """
        )
        self.assertSucceeded(child)
        self.assertEqual(child.messages[0], message("opened"))
        self.assertEqual(child.messages[-1], message("closed"))
        seen: Dict[int, List[int]] = {n: [] for n in range(threads)}
        for m in child.messages[1:-1]:
            if m["method"] == "log":
                number, i, padding = m["params"]["message"].split(" ")
                number, i = int(number), int(i)
            else:
                values = m["params"]["values"]
                number, i, padding = values["thread"], values["i"], values["padding"]
            self.assertEqual(padding, "x" * ((i * 7919) % 200_000))
            seen[number].append(i)
        self.assertEqual(seen, {n: list(range(per_thread)) for n in range(threads)}, "every message arrives, in order per thread")


class SourceTest(unittest.TestCase):
    def test_the_client_parses_as_python_3_8(self) -> None:
        with open(os.path.join(HERE, "outpost_pipes.py"), encoding="utf-8") as file:
            source = file.read()
        ast.parse(source, feature_version=(3, 8))
        imports = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                imports.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imports.add(node.module.split(".")[0])
        standard = {"__future__", "atexit", "collections", "dataclasses", "datetime", "decimal", "enum", "json", "logging"}
        standard |= {"math", "os", "pathlib", "re", "sys", "threading", "traceback", "typing", "uuid", "time", "urllib"}
        self.assertLessEqual(imports, standard, "the client imports only the standard library")


if __name__ == "__main__":
    unittest.main()
