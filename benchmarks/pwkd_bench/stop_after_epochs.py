"""A hook ending a run after its first epochs."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class StopAfterEpochs(Hook):
    """End training after ``epochs`` epochs, validated as the train loop
    validates them, while the learning rate keeps the whole run's schedule:
    the run's first epochs, bit for bit (a cheap repeat of a recorded run's
    first validation).

    Args:
        epochs (int): The epochs to train.
    """

    def __init__(self, epochs: int):
        self.epochs = epochs

    def after_train_epoch(self, runner) -> None:
        if runner.epoch + 1 >= self.epochs:
            runner.train_loop.stop_training = True
