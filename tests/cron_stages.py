"""A pipeline stage with a bug, for the exit code of an error in our code."""


class BrokenStage:
    def process_item(self, item):
        raise RuntimeError("a bug in a pipeline stage")
