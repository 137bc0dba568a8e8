"""Build of the compiled part of ingest (everything else is declared in pyproject.toml)."""

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

kernels = Extension(
    "ingest.dedup._compiled",
    ["src/ingest/dedup/_compiled.pyx"],
    depends=["src/ingest/dedup/_compiled.h"],
    include_dirs=[numpy.get_include()],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    # No -march: a wheel must run on any machine of its platform (the MinHash loop picks AVX2
    # at load time where the CPU has it, see _compiled.h).
    extra_compile_args=["-O3"],
)

setup(ext_modules=cythonize([kernels], compiler_directives={"language_level": 3}))
