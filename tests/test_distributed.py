"""Runs across processes: torchrun with 2 gloo processes gives the single-process answer.

Each test launches ``python -m torch.distributed.run --standalone --nproc_per_node=2 -m gradfit``
(a few seconds each: two interpreters importing torch) and compares with the same command run
in this process. The single-process numbers are themselves checked against closed forms and
statsmodels elsewhere; here the claim is "same answer with more processes".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
import torch.distributed as dist  # noqa: E402

from gradfit.cli import main  # noqa: E402
from gradfit.data.batches import share  # noqa: E402
from gradfit.scale.distributed import GlobalRows  # noqa: E402

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")


def torchrun(args: list[str], cwd, nproc: int = 2) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # what torchrun would set (and warn about)
    env.pop("WORLD_SIZE", None)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "gradfit", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def one_process(args: list[str], capsys) -> dict:
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def gradfit_lines(stderr: str) -> list[str]:
    """What gradfit itself wrote on stderr (not torchrun's own launcher messages)."""
    return [line for line in stderr.splitlines() if line.startswith(("gradfit fit", "gradfit solve"))]


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory):
    """801 rows: with --val-split 0.2, 641 training rows; batches of 64 leave a partial last one."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(801, 3)) * [1.0, 2.0, 3.0] + [5.0, 0.0, -1.0]
    y = 2.0 + x @ [1.5, -0.5, 0.25] + 0.3 * rng.normal(size=801)
    path = tmp_path_factory.mktemp("dist") / "data.csv"
    lines = ["a,b,c,y"] + [",".join(repr(float(v)) for v in row) for row in np.column_stack([x, y])]
    path.write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------- without processes


def test_shares_cover_every_row_once():
    for n in (0, 1, 2, 7, 801):
        for world in (1, 2, 3, 8):
            rows = [list(range(n))[share(n, r, world)] for r in range(world)]
            assert sum(rows, []) == list(range(n))
            assert max(map(len, rows)) - min(map(len, rows)) <= 1


def test_positions_follow_the_global_order():
    order = np.array([5, 0, 3, 9, 1, 7, 2, 8, 4, 6])
    positions, before = GlobalRows(start=3, total=10, world_size=2).positions(order, 4)  # holds rows 3..6
    assert (positions + 3).tolist() == [5, 3, 4, 6]  # its rows, in the order they come
    assert before.tolist() == [0, 1, 1, 2, 2, 2, 2, 2, 2, 3, 4]  # its rows among the first k of the order


def test_a_single_share_trains_as_the_plain_trainer():
    """GlobalRows(0, n, 1): the sharded epoch (global order, weights) is the plain one exactly."""
    from torch import nn

    from gradfit import Trainer

    rng = np.random.default_rng(1)
    x = torch.tensor(rng.normal(size=(103, 2)))
    y = x @ torch.tensor([[1.0], [-2.0]], dtype=torch.float64) + 0.5
    runs = []
    for shard in (None, GlobalRows(0, 103, 1)):
        torch.manual_seed(0)
        model = nn.Linear(2, 1).double()
        trainer = Trainer(model, nn.MSELoss(), "sgd", lr=0.05, train_data=(x, y), val_data=(x[:10], y[:10]),
                          batch_size=16, seed=3, shard=shard)
        history = trainer.train(4)
        runs.append((torch.cat([p.detach().reshape(-1) for p in model.parameters()]), history))
    assert torch.equal(runs[0][0], runs[1][0])
    assert runs[0][1].train_loss == pytest.approx(runs[1][1].train_loss, rel=1e-15)
    assert runs[0][1].val_loss == pytest.approx(runs[1][1].val_loss, rel=1e-15)


# ---------------------------------------------------------------- two gloo processes


def test_full_batch_exact_engine_matches_one_process(data_csv, capsys):
    args = ["fit", str(data_csv), "--target", "y", "--val-split", "0.2", "--epochs", "300", "--json"]
    single = one_process(args, capsys)
    done = torchrun(args, data_csv.parent)
    assert done.returncode == 0, done.stderr
    both = json.loads(done.stdout)  # rank 0 alone printed: one JSON object
    assert both["world_size"] == 2 and single["world_size"] == 1
    assert both["engine"] == "exact" and (both["n_train"], both["n_val"]) == (single["n_train"], single["n_val"])
    np.testing.assert_allclose(both["params"]["coef"], single["params"]["coef"], rtol=0, atol=1e-6)
    assert both["params"]["intercept"] == pytest.approx(single["params"]["intercept"], abs=1e-6)
    np.testing.assert_allclose(both["history"]["train_loss"], single["history"]["train_loss"], rtol=1e-9)
    np.testing.assert_allclose(both["history"]["val_loss"], single["history"]["val_loss"], rtol=1e-9)
    np.testing.assert_allclose(both["stats"]["std_err"], single["stats"]["std_err"], rtol=1e-9)


def test_mini_batch_torch_matches_one_process_with_the_same_global_batch(data_csv, capsys):
    """float32 defaults, batches of 64 over 641 rows (a partial last batch), validation over both
    processes' rows, a checkpoint written by rank 0 and resumed by both."""
    common = ["fit", str(data_csv), "--target", "y", "--engine", "torch", "--batch-size", "64", "--val-split",
              "0.2", "--json"]
    single = one_process(common + ["--epochs", "6"], capsys)
    first = torchrun(common + ["--epochs", "3", "--checkpoint", "run.pt"], data_csv.parent)
    assert first.returncode == 0, first.stderr
    assert (data_csv.parent / "run.pt").exists()
    done = torchrun(common + ["--epochs", "6", "--resume", "run.pt"], data_csv.parent)
    assert done.returncode == 0, done.stderr
    both = json.loads(done.stdout)
    assert both["world_size"] == 2 and both["start_epoch"] == 3 and both["updates"] == single["updates"] == 6 * 11
    np.testing.assert_allclose(both["params"]["coef"], single["params"]["coef"], rtol=0, atol=1e-5)
    assert both["params"]["intercept"] == pytest.approx(single["params"]["intercept"], abs=1e-5)
    np.testing.assert_allclose(both["history"]["train_loss"], single["history"]["train_loss"], rtol=1e-5)
    np.testing.assert_allclose(both["history"]["val_loss"], single["history"]["val_loss"], rtol=1e-5)


def test_stochastic_steps_where_one_process_holds_no_row_of_the_batch(data_csv, capsys, tmp_path):
    """Batch size 1: every update's row lives on one process; the other contributes a zero
    gradient to DDP's all-reduce. Adam, float64: the single run's parameters to 1e-10."""
    small = tmp_path / "small.csv"
    small.write_text("\n".join(data_csv.read_text().splitlines()[:52]) + "\n")  # 51 rows
    args = ["fit", str(small), "--target", "y", "--engine", "torch", "--optimizer", "adam", "--lr", "0.01",
            "--batch-size", "1", "--epochs", "2", "--dtype", "float64", "--json"]
    single = one_process(args, capsys)
    done = torchrun(args, tmp_path)
    assert done.returncode == 0, done.stderr
    both = json.loads(done.stdout)
    # Each update is the single run's but for the rounding of statistics summed across processes
    # (measured 4e-16 apart after 102 updates: the tolerance is no edge). A failure seen once in a
    # full run could not be reproduced, alone or under load: the launcher's and workers' messages
    # go with any failure, to say what happened.
    context = f"torchrun stderr:\n{done.stderr[-3000:]}"
    assert both["updates"] == single["updates"] == 102, context
    np.testing.assert_allclose(both["params"]["coef"], single["params"]["coef"], rtol=0, atol=1e-10, err_msg=context)
    np.testing.assert_allclose(both["history"]["train_loss"], single["history"]["train_loss"], rtol=1e-10,
                               err_msg=context)


def test_solve_streams_its_row_groups_and_matches_one_process(data_csv, capsys, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    values = np.loadtxt(data_csv, delimiter=",", skiprows=1)
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({name: values[:, j] for j, name in enumerate("abcy")}), path, row_group_size=100)
    single = one_process(["solve", str(path), "--target", "y", "--json"], capsys)
    done = torchrun(["solve", str(path), "--target", "y", "--json", "--chunk-rows", "37"], tmp_path)
    assert done.returncode == 0, done.stderr
    both = json.loads(done.stdout)
    assert both["world_size"] == 2 and both["streamed"] and both["stats"]["n_obs"] == 801
    np.testing.assert_allclose(both["closed_form"]["coef"], single["closed_form"]["coef"], rtol=1e-12)
    np.testing.assert_allclose(both["closed_form"]["std_err"], single["closed_form"]["std_err"], rtol=1e-12)


def test_a_bad_file_is_one_line_from_rank_0_and_exit_2(tmp_path):
    (tmp_path / "bad.csv").write_text("a,y\n1,2\n2,x\n3,4\n")
    done = torchrun(["fit", "bad.csv", "--target", "y"], tmp_path)
    assert done.returncode != 0
    lines = gradfit_lines(done.stderr)
    assert lines == ["gradfit fit: error: bad.csv: column 'y' is not numeric: line 3 has 'x'; the target must be "
                     "numeric: fix that value"]
    assert "exitcode  : 2" in done.stderr  # torchrun's report of the workers' exit code


def test_weighted_fit_and_solve_match_one_process(tmp_path, capsys):
    """Weights travel in the whitened rows each process holds; Σ log w is of all rows."""
    rng = np.random.default_rng(9)
    x = rng.normal(size=(400, 2))
    w = rng.uniform(0.2, 3.0, 400)
    y = 1.0 + x @ [2.0, -1.0] + rng.normal(size=400) / np.sqrt(w)
    path = tmp_path / "weighted.csv"
    lines = ["a,b,w,y"] + [",".join(repr(float(v)) for v in row) for row in np.column_stack([x, w, y])]
    path.write_text("\n".join(lines) + "\n")
    for command in (["solve"], ["fit", "--epochs", "300", "--val-split", "0.2"], ["solve", "--chunk-rows", "37"]):
        args = [command[0], str(path), "--target", "y", "--weights", "w", "--json", *command[1:]]
        single = one_process(args, capsys)
        done = torchrun(args, tmp_path)
        assert done.returncode == 0, done.stderr
        both = json.loads(done.stdout)
        assert both["world_size"] == 2 and both["stats"]["weighted"] is True
        for key in ("coef", "std_err"):
            np.testing.assert_allclose(both["stats"][key], single["stats"][key], rtol=1e-9)
        for key in ("r_squared", "log_likelihood", "f_statistic"):
            assert both["stats"][key] == pytest.approx(single["stats"][key], rel=1e-9), key


def test_robust_covariances_and_residual_tests_match_one_process(tmp_path, capsys):
    """The sandwich's middle and the residuals' sums come from a second pass over each process's
    rows, added in rank order with what crosses the boundaries (HAC lags, Durbin–Watson steps)."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(300, 2))
    y = 1.0 + x @ [2.0, -1.0] + rng.normal(size=300) * (1 + np.abs(x[:, 0]))
    groups = [f"g{k}" for k in rng.integers(0, 12, 300)]
    path = tmp_path / "robust.csv"
    lines = ["a,b,g,y"] + [f"{a!r},{b!r},{g},{t!r}" for (a, b), g, t in zip(x.tolist(), groups, y.tolist())]
    path.write_text("\n".join(lines) + "\n")
    base = ["solve", str(path), "--target", "y", "--features", "a,b", "--json"]
    single = {}
    for name, extra in [("cluster", ["--cov", "cluster", "--cluster", "g"]), ("HAC", ["--cov", "HAC", "--maxlags", "4"]),
                        ("HC3", ["--cov", "HC3"])]:
        single[name] = one_process(base + extra, capsys)["stats"]
        done = torchrun(base + extra, tmp_path)
        assert done.returncode == 0, done.stderr
        both = json.loads(done.stdout)["stats"]
        np.testing.assert_allclose(both["std_err"], single[name]["std_err"], rtol=1e-10, err_msg=name)
        for key in ("durbin_watson", "jarque_bera", "omnibus", "f_statistic"):
            assert both[key] == pytest.approx(single[name][key], rel=1e-9), (name, key)
    # streamed under torchrun: a second pass over each process's blocks of the file
    done = torchrun(base + ["--cov", "HC3", "--chunk-rows", "37"], tmp_path)
    assert done.returncode == 0, done.stderr
    streamed = json.loads(done.stdout)["stats"]
    np.testing.assert_allclose(streamed["std_err"], single["HC3"]["std_err"], rtol=1e-10)
    assert streamed["jarque_bera"] == pytest.approx(single["HC3"]["jarque_bera"], rel=1e-9)
    assert streamed["durbin_watson"] is None  # the processes read interleaved blocks: no order across them
    # Parquet: each process reads contiguous row groups, in rank order, so HAC and Durbin–Watson hold
    import pandas as pd

    parquet = tmp_path / "robust.parquet"
    pd.read_csv(path).to_parquet(parquet, row_group_size=50)
    args = ["solve", str(parquet), "--target", "y", "--features", "a,b", "--json", "--cov", "HAC", "--maxlags", "4",
            "--chunk-rows", "37"]
    done = torchrun(args, tmp_path)
    assert done.returncode == 0, done.stderr
    streamed = json.loads(done.stdout)["stats"]
    np.testing.assert_allclose(streamed["std_err"], single["HAC"]["std_err"], rtol=1e-10)
    assert streamed["durbin_watson"] == pytest.approx(single["HAC"]["durbin_watson"], rel=1e-9)
    done = torchrun(["solve", str(path), "--target", "y", "--features", "a,b", "--cov", "HAC", "--maxlags", "4",
                     "--chunk-rows", "37"], tmp_path)
    assert done.returncode != 0 and "convert it to Parquet" in done.stderr


def test_influence_table_gathers_every_process_rows(tmp_path, capsys):
    rng = np.random.default_rng(12)
    x = rng.normal(size=(101, 2))
    y = 0.5 + x @ [1.0, 3.0] + rng.normal(size=101)
    path = tmp_path / "influence.csv"
    lines = ["a,b,y"] + [",".join(repr(float(v)) for v in row) for row in np.column_stack([x, y])]
    path.write_text("\n".join(lines) + "\n")
    one_process(["solve", str(path), "--target", "y", "--json", "--influence", str(tmp_path / "one.csv")], capsys)
    done = torchrun(["solve", str(path), "--target", "y", "--json", "--influence", "two.csv"], tmp_path)
    assert done.returncode == 0, done.stderr
    import pandas as pd

    one, two = pd.read_csv(tmp_path / "one.csv"), pd.read_csv(tmp_path / "two.csv")
    assert one.shape == two.shape == (101, 6)
    np.testing.assert_allclose(two.to_numpy(), one.to_numpy(), rtol=1e-9, atol=1e-15)


def test_streamed_cluster_labels_under_torchrun(tmp_path, capsys):
    """Each process reads its blocks with their labels; the per-cluster sums are merged by label."""
    rng = np.random.default_rng(13)
    x = rng.normal(size=(240, 2))
    y = 2.0 + x @ [1.0, -1.0] + rng.normal(size=240)
    groups = [f"c{k}" for k in rng.integers(0, 9, 240)]
    path = tmp_path / "clusters.csv"
    lines = ["a,b,g,y"] + [f"{a!r},{b!r},{g},{t!r}" for (a, b), g, t in zip(x.tolist(), groups, y.tolist())]
    path.write_text("\n".join(lines) + "\n")
    args = ["solve", str(path), "--target", "y", "--json", "--cov", "cluster", "--cluster", "g"]
    single = one_process(args, capsys)["stats"]
    done = torchrun(args + ["--chunk-rows", "25"], tmp_path)
    assert done.returncode == 0, done.stderr
    both = json.loads(done.stdout)["stats"]
    assert both["n_groups"] == single["n_groups"] == 9 and both["names"] == ["intercept", "a", "b"]
    np.testing.assert_allclose(both["std_err"], single["std_err"], rtol=1e-10)


def test_formula_with_categories_under_torchrun(tmp_path, capsys):
    sm = pytest.importorskip("statsmodels.api")
    pytest.importorskip("formulaic")
    path = tmp_path / "grunfeld.csv"
    sm.datasets.grunfeld.load_pandas().data.to_csv(path, index=False)
    args = ["solve", str(path), "--formula", "invest ~ value + C(firm) + value:capital", "--cov", "cluster",
            "--cluster", "firm", "--json"]
    single = one_process(args, capsys)["stats"]
    done = torchrun(args, tmp_path)
    assert done.returncode == 0, done.stderr
    both = json.loads(done.stdout)["stats"]
    assert both["names"] == single["names"] and "C(firm)[T.IBM]" in both["names"]
    # one process refines its closed form from the rows; the two gather TSQR statistics (float64)
    np.testing.assert_allclose(both["std_err"], single["std_err"], rtol=1e-9)


def test_penalized_fits_match_one_process(data_csv, capsys):
    """A lasso under torchrun: the exact answer from the gathered statistics equals the one from
    one process's rows, and the penalty's step hooks run after DDP's all-reduce (each process
    applies the same proximal step to the same averaged gradient), so mini-batch torch runs agree."""
    base = ["fit", str(data_csv), "--target", "y", "--l1", "0.05", "--l2", "0.01", "--json", "--dtype", "float64"]
    for extra in (["--epochs", "400"], ["--engine", "torch", "--batch-size", "64", "--epochs", "4"]):
        single = one_process(base + extra, capsys)
        done = torchrun(base + extra, data_csv.parent)
        assert done.returncode == 0, done.stderr
        both = json.loads(done.stdout)
        assert both["world_size"] == 2 and both["penalty"]["kind"] == "elastic net"
        # the exact answers: both at rounding (QR of the rows vs merged TSQR triangles)
        np.testing.assert_allclose(both["closed_form"]["coef"], single["closed_form"]["coef"], rtol=1e-12, atol=0)
        # float64 GD: the same iterates up to the order of the gradient's sums
        np.testing.assert_allclose(both["params"]["coef"], single["params"]["coef"], rtol=0, atol=1e-10)
        assert (np.array(both["params"]["coef"]) == 0).tolist() == (np.array(single["params"]["coef"]) == 0).tolist()


def _theta(result: dict) -> np.ndarray:
    return np.array([result["params"]["intercept"], *result["params"]["coef"]])


def test_a_checkpoint_written_by_two_processes_resumes_on_one_and_on_three(data_csv, capsys, tmp_path):
    """The global batch order is one seeded permutation of all rows whatever the process count, and
    the checkpoint's data digest is the sum of per-row digests: so N processes' checkpoint resumes
    on M. float32 mini-batches: the processes' partial sums round differently (1e-5, as between
    1 and 2 processes above); full batch, float64 statistics merged in another order (1e-6)."""
    for extra, atol in ((["--engine", "torch", "--batch-size", "64"], 1e-5), ([], 1e-6)):
        common = ["fit", str(data_csv), "--target", "y", "--val-split", "0.2", "--json", *extra]
        epochs = ["3", "6"] if extra else ["150", "300"]
        single = one_process(common + ["--epochs", epochs[1]], capsys)
        first = torchrun(common + ["--epochs", epochs[0], "--checkpoint", "n2.pt"], tmp_path)
        assert first.returncode == 0, first.stderr
        on_three = torchrun(common + ["--epochs", epochs[1], "--resume", "n2.pt"], tmp_path, nproc=3)
        assert on_three.returncode == 0, on_three.stderr
        three = json.loads(on_three.stdout)
        on_one = one_process(common + ["--epochs", epochs[1], "--resume", str(tmp_path / "n2.pt")], capsys)
        assert three["world_size"] == 3 and int(three["start_epoch"]) == int(epochs[0]) == on_one["start_epoch"]
        np.testing.assert_allclose(_theta(three), _theta(single), rtol=0, atol=atol)
        np.testing.assert_allclose(_theta(on_one), _theta(single), rtol=0, atol=atol)
        np.testing.assert_allclose(three["history"]["val_loss"], single["history"]["val_loss"], rtol=10 * atol)


def test_streamed_mini_batches_with_every_option_under_torchrun(capsys, tmp_path):
    """--chunk-rows, --batch-size, --val-split, --checkpoint and --resume together on a Parquet
    file of 7 row groups: 2 processes write the checkpoint, 3 and 1 resume it, and all equal one
    uninterrupted process. float64: only the order of each batch's sums differs (a few ulps a
    step, ~100 steps), hence 1e-11."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(1300, 2)) * [2.0, 0.5]
    y = 0.5 + x @ [1.0, -2.0] + 0.2 * rng.normal(size=1300)
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": y}).to_parquet(tmp_path / "rows.parquet", row_group_size=200,
                                                                  index=False)
    common = ["fit", str(tmp_path / "rows.parquet"), "--target", "y", "--chunk-rows", "90", "--batch-size", "32",
              "--shuffle-buffer", "300", "--val-split", "0.2", "--lr", "0.05", "--dtype", "float64", "--json"]
    single = one_process(common + ["--epochs", "4"], capsys)
    first = torchrun(common + ["--epochs", "2", "--checkpoint", "s2.pt"], tmp_path)
    assert first.returncode == 0, first.stderr
    on_three = torchrun(common + ["--epochs", "4", "--resume", "s2.pt"], tmp_path, nproc=3)
    assert on_three.returncode == 0, on_three.stderr
    three = json.loads(on_three.stdout)
    on_one = one_process(common + ["--epochs", "4", "--resume", str(tmp_path / "s2.pt")], capsys)
    assert (three["n_train"], three["n_val"]) == (single["n_train"], single["n_val"]) and single["n_val"] > 200
    assert three["updates"] == single["updates"] == on_one["updates"]
    np.testing.assert_allclose(_theta(three), _theta(single), rtol=0, atol=1e-11)
    np.testing.assert_allclose(_theta(on_one), _theta(single), rtol=0, atol=1e-11)
    np.testing.assert_allclose(three["history"]["val_loss"], single["history"]["val_loss"], rtol=1e-11)
