"""A hook validating the epoch a run resumes at."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class ValidateResumedEpoch(Hook):
    """Validate the epoch a resumed run starts after, before it trains on.

    An epoch's checkpoint is written before its validation, so an attempt
    stopped in between left no figure for that epoch, and the resumed run
    validates only the epochs it trains. The generators' state is the
    checkpoint's before and after (``RandomStateHook`` validates on a copy
    of it), so the run goes on as if it had not stopped.
    """

    # After RandomStateHook (LOW) restored the resumed generators.
    priority = 'LOWEST'

    def before_train(self, runner) -> None:
        runner.val_loop.run()
