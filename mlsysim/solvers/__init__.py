"""Solvers: ``SomethingModel().solve(...) -> SomethingResult``, one question each."""
