"""Job scripts for studies: one SLURM (or PBS) script per job, parameters at the top.

Every script runs locally too: without the scheduler its variables take
defaults and ``mpirun`` replaces ``srun``.  Data and result paths are
written absolute, so a job finds its files whatever folder the scheduler
starts it in.
"""

import math
import os
import re
import shlex

from pisvm.data.atomic import write_atomic

SCHEDULERS = ("slurm", "pbs")

_TIME_FORMATS = {
    # sbatch --time: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS
    "slurm": (re.compile(r"\d+(:[0-5]?\d){0,2}|\d+-\d+(:[0-5]?\d){0,2}"),
              "MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS"),
    # qsub -l walltime: [[HH:]MM:]SS
    "pbs": (re.compile(r"\d+(:[0-5]?\d){0,2}"), "SS, MM:SS or HH:MM:SS"),
}


def check_time(text, scheduler):
    """Return ``text`` if it is a wall-clock limit the scheduler accepts, else raise ValueError.

    Parameters
    ----------
    text : str
        e.g. ``"02:00:00"``, ``"1-12:00:00"`` (SLURM), ``"90"`` (SLURM: minutes; PBS: seconds).
    scheduler : {"slurm", "pbs"}
    """
    pattern, formats = _TIME_FORMATS[scheduler]
    if not pattern.fullmatch(text):
        raise ValueError(f"time {text!r} is not a {scheduler.upper()} wall-clock limit ({formats})")
    return text


def _header(scheduler, name, ntasks, nodes, time, account, partition, gpus):
    if scheduler == "slurm":
        lines = [f"#SBATCH --job-name={name}", f"#SBATCH --nodes={nodes}", f"#SBATCH --ntasks={ntasks}",
                 f"#SBATCH --time={time}", f"#SBATCH --output={name}-%j.out"]
        lines += [f"#SBATCH --account={account}"] if account else []
        lines += [f"#SBATCH --partition={partition}"] if partition else []
        lines += [f"#SBATCH --gres=gpu:{gpus}"] if gpus else []
        return lines
    ppn = -(-ntasks // nodes)
    lines = [f"#PBS -N {name}", f"#PBS -l nodes={nodes}:ppn={ppn}" + (f":gpus={gpus}" if gpus else ""),
             f"#PBS -l walltime={time}", "#PBS -j oe"]
    lines += [f"#PBS -A {account}"] if account else []
    lines += [f"#PBS -q {partition}"] if partition else []
    return lines


def job_script(name, payload, scheduler="slurm", ntasks=1, cores_per_node=40, time="02:00:00", account=None,
               partition=None, modules=(), gpus=0):
    """Return the text of one job script.

    Parameters
    ----------
    name : str
        Job name (also the log file's prefix).
    payload : str
        The job's one command line; ``$LAUNCH`` expands to ``srun -n $NTASKS``
        under SLURM, ``mpirun -n $NTASKS`` elsewhere.
    scheduler : {"slurm", "pbs"}
    ntasks : int
        MPI ranks; nodes are ``ceil(ntasks / cores_per_node)``.
    time : str
        Wall-clock limit in the scheduler's format (:func:`check_time`).
    account, partition : str, optional
    modules : sequence of str
        ``module load`` names (the cluster's MPI, Python, CUDA ...).
    gpus : int
        GPUs per node.
    """
    if scheduler not in SCHEDULERS:
        raise ValueError(f"scheduler {scheduler!r} not in {{'slurm', 'pbs'}}")
    check_time(time, scheduler)
    for option, value, minimum in (("ntasks", ntasks, 1), ("cores_per_node", cores_per_node, 1), ("gpus", gpus, 0)):
        if value < minimum:
            raise ValueError(f"{option} == {value}, must be >= {minimum}")
    nodes = max(1, math.ceil(ntasks / cores_per_node))
    job_id = "SLURM_JOB_ID" if scheduler == "slurm" else "PBS_JOBID"
    lines = ["#!/usr/bin/env bash", *_header(scheduler, name, ntasks, nodes, time, account, partition, gpus),
             "set -euo pipefail", ""]
    if scheduler == "pbs":
        lines.append('cd "${PBS_O_WORKDIR:-.}"')
    lines += [f"NTASKS=${{SLURM_NTASKS:-${{NTASKS:-{ntasks}}}}}",
              f"MODULES=${{MODULES:-{shlex.quote(' '.join(modules)) if modules else ''}}}",
              'if [ -n "$MODULES" ] && command -v module >/dev/null; then module load $MODULES; fi',
              f'if [ -n "${{{job_id}:-}}" ] && command -v srun >/dev/null; then LAUNCH="srun -n $NTASKS"; '
              'else LAUNCH="mpirun --oversubscribe -n $NTASKS"; fi', "", payload, ""]
    return "\n".join(lines)


def _write(folder, name, text):
    path = os.path.join(folder, name)
    write_atomic(path, text)
    os.chmod(path, 0o755)
    return path


def _write_study(folder, jobs, scheduler, **options):
    """Write one script per job and ``submit.sh``, which submits them all.

    Parameters
    ----------
    folder : str
    jobs : list of dict
        ``name`` (file stem and job name), ``payload``, and the other
        :func:`job_script` arguments of that job (``ntasks``, ``gpus``).
    scheduler : {"slurm", "pbs"}
    **options
        :func:`job_script` arguments shared by every job.

    Returns
    -------
    list of str
        Paths of the scripts written, ``submit.sh`` last.
    """
    extension = "slurm" if scheduler == "slurm" else "pbs"
    texts = {f"{job['name']}.{extension}": job_script(f"pisvm-{job['name']}", job["payload"], scheduler,
                                                      **{k: v for k, v in job.items() if k not in ("name", "payload")},
                                                      **options)
             for job in jobs}  # every script checked before anything is written
    os.makedirs(folder, exist_ok=True)
    written = [_write(folder, name, text) for name, text in texts.items()]
    submit = "sbatch" if scheduler == "slurm" else "qsub"
    # The jobs' paths are absolute, so the scripts may be submitted from their own folder (where
    # the scheduler then writes the logs).
    written.append(_write(folder, "submit.sh", "#!/usr/bin/env bash\nset -euo pipefail\ncd \"$(dirname \"$0\")\"\n"
                          + "".join(f"{submit} {os.path.basename(path)}\n" for path in written)))
    return written


def scaling_study(folder, train, ranks, grid_args="", test=None, scheduler="slurm", results=None, **options):
    """Write one pisvm-grid job per rank count, a submit script and a summary script.

    The 1-rank job runs without any launcher: the seeds' serial reference.
    Results go to ``$RESULTS/n<ranks>`` (``--resume``: a re-submitted job
    continues); ``summary.sh`` runs ``pisvm-timing`` on them.

    Parameters
    ----------
    folder : str
        Where the scripts go.
    train, test : str
        LibSVM files, relative to the current folder or absolute; written absolute.
    ranks : sequence of int
    grid_args : str
        pisvm-grid grid options.
    scheduler : {"slurm", "pbs"}
    results : str, optional
        Default of ``$RESULTS``; ``<folder>/results`` if not given; written absolute.
    **options
        :func:`job_script` arguments shared by every job.

    Returns
    -------
    list of str
        Paths of the scripts written.
    """
    results = _quoted_default("RESULTS", os.path.abspath(results or os.path.join(folder, "results")))
    test_args = f" --test {shlex.quote(os.path.abspath(test))}" if test else ""
    jobs = [{"name": f"grid-n{n}", "ntasks": n,
             "payload": (f'{"" if n == 1 else "$LAUNCH "}pisvm-grid {shlex.quote(os.path.abspath(train))} {grid_args}'
                         f'{test_args} --out "{results}/n{n}" --resume -q')}
            for n in ranks]
    written = _write_study(folder, jobs, scheduler, **options)
    written.append(_write(folder, "summary.sh", "#!/usr/bin/env bash\nset -euo pipefail\n"
                          f'pisvm-timing "{results}"/n* --out "{results}/timing"\n'))
    return written


def sampling_study(folder, scene, modes, fractions, seeds, epochs=600, scheduler="slurm", gpus=1, results=None,
                   **options):
    """Write one split + 3D-CNN training job per (mode, fraction, seed), like the reference generator.

    Cluster modes (``size``, ``stddev``) are deterministic, so they get one
    job per fraction.  Splits go to ``$RESULTS/splits``, models to
    ``$RESULTS/<mode>-<fraction>-<seed>`` (a re-submitted job resumes from
    the CNN's last checkpoint there).

    Parameters
    ----------
    folder : str
    scene : str
        Scene HDF5 file; written absolute.
    modes : sequence of {"random", "size", "stddev"}
    fractions : sequence of float
    seeds : sequence of int
    epochs : int
    scheduler : {"slurm", "pbs"}
    gpus : int
        GPUs per job.
    results : str, optional
        Default of ``$RESULTS``; ``<folder>/results`` if not given; written absolute.
    **options
        :func:`job_script` arguments shared by every job.

    Returns
    -------
    list of str
        Paths of the scripts written.
    """
    results = _quoted_default("RESULTS", os.path.abspath(results or os.path.join(folder, "results")))
    scene = shlex.quote(os.path.abspath(scene))
    jobs = []
    for mode in modes:
        for fraction in fractions:
            for seed in (seeds if mode == "random" else seeds[:1]):
                tag = f"{mode}-{fraction:g}-{seed}"
                split = f'"{results}/splits/{tag}.h5"'
                payload = (f'mkdir -p "{results}/splits" && '
                           f"pisvm-split {scene} --sampling {mode} --fraction {fraction:g} --seed {seed} "
                           f"--out {split} && pisvm-cnn train {scene} {split} "
                           f'--epochs "${{EPOCHS:-{epochs}}}" --out "{results}/{tag}"')
                jobs.append({"name": f"cnn-{tag}", "payload": payload, "ntasks": 1, "gpus": gpus})
    return _write_study(folder, jobs, scheduler, **options)


def _quoted_default(variable, value):
    """``${VARIABLE:-value}`` for use inside double quotes in a script."""
    escaped = re.sub(r'(["\\$`])', r"\\\1", value)
    return f"${{{variable}:-{escaped}}}"
