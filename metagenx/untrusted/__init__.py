"""Reading users' files for the server, in the sandbox, with the answers checked at the boundary.

:class:`~metagenx.untrusted.reader.UntrustedReader` checks an uploaded model, expands a study
against its template and data files, and reads a data file's order value, each in a fresh
sandboxed child (:mod:`metagenx.untrusted.child`); :mod:`metagenx.untrusted.messages` is what
passes between them, :mod:`metagenx.untrusted.specs` what a study's answer must satisfy.
"""

from __future__ import annotations
