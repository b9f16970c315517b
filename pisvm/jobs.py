"""Job scripts for studies: one SLURM (or PBS) script per job, parameters at the top.

Every script runs locally too: without the scheduler its variables take
defaults and ``mpirun`` replaces ``srun``.
"""

import math
import os
import shlex

SCHEDULERS = ("slurm", "pbs")


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
        Wall-clock limit ``HH:MM:SS``.
    account, partition : str, optional
    modules : sequence of str
        ``module load`` names (the cluster's MPI, Python, CUDA ...).
    gpus : int
        GPUs per node.
    """
    if scheduler not in SCHEDULERS:
        raise ValueError(f"scheduler {scheduler!r} not in {{'slurm', 'pbs'}}")
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
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(text)
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
    os.makedirs(folder, exist_ok=True)
    extension = "slurm" if scheduler == "slurm" else "pbs"
    written = [_write(folder, f"{job['name']}.{extension}",
                      job_script(f"pisvm-{job['name']}", job["payload"], scheduler,
                                 **{k: v for k, v in job.items() if k not in ("name", "payload")}, **options))
               for job in jobs]
    submit = "sbatch" if scheduler == "slurm" else "qsub"
    written.append(_write(folder, "submit.sh", "#!/usr/bin/env bash\nset -euo pipefail\ncd \"$(dirname \"$0\")\"\n"
                          + "".join(f"{submit} {os.path.basename(path)}\n" for path in written)))
    return written


def scaling_study(folder, train, ranks, grid_args="", test=None, scheduler="slurm", **options):
    """Write one pisvm-grid job per rank count, a submit script and a summary script.

    The 1-rank job runs without any launcher: the seeds' serial reference.
    Results go to ``RESULTS/n<ranks>``; ``summary.sh`` runs ``pisvm-timing`` on them.

    Returns
    -------
    list of str
        Paths of the scripts written.
    """
    test_args = f" --test {shlex.quote(test)}" if test else ""
    jobs = [{"name": f"grid-n{n}", "ntasks": n,
             "payload": (f'{"" if n == 1 else "$LAUNCH "}pisvm-grid {shlex.quote(train)} {grid_args}{test_args} '
                         f'--out "${{RESULTS:-scaling}}/n{n}" --resume -q')}
            for n in ranks]
    written = _write_study(folder, jobs, scheduler, **options)
    written.append(_write(folder, "summary.sh", "#!/usr/bin/env bash\nset -euo pipefail\n"
                          'pisvm-timing "${RESULTS:-scaling}"/n* --out "${RESULTS:-scaling}/timing"\n'))
    return written


def sampling_study(folder, scene, modes, fractions, seeds, epochs=600, scheduler="slurm", gpus=1, **options):
    """Write one split + 3D-CNN training job per (mode, fraction, seed), like the reference generator.

    Cluster modes (``size``, ``stddev``) are deterministic, so they get one
    job per fraction.  Splits go to ``RESULTS/splits``, models to
    ``RESULTS/<mode>-<fraction>-<seed>``.

    Returns
    -------
    list of str
        Paths of the scripts written.
    """
    jobs = []
    for mode in modes:
        for fraction in fractions:
            for seed in (seeds if mode == "random" else seeds[:1]):
                tag = f"{mode}-{fraction:g}-{seed}"
                split = f'"${{RESULTS:-sampling}}/splits/{tag}.h5"'
                payload = (f'mkdir -p "${{RESULTS:-sampling}}/splits" && '
                           f"pisvm-split {shlex.quote(scene)} --mode {mode} --fraction {fraction:g} --seed {seed} "
                           f"--out {split} && pisvm-cnn train {shlex.quote(scene)} {split} "
                           f'--epochs "${{EPOCHS:-{epochs}}}" --out "${{RESULTS:-sampling}}/{tag}"')
                jobs.append({"name": f"cnn-{tag}", "payload": payload, "ntasks": 1, "gpus": gpus})
    return _write_study(folder, jobs, scheduler, **options)
