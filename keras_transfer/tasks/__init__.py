"""Task specs for the experiment runner (`keras_transfer.runner.run`).

Each spec says how its data is loaded, sampled and split, which reference
rows it adds, how a strategy's model is trained and predicts, how it is
scored and what the table carries. Adding a task means writing a spec.
"""

from keras_transfer.tasks.classification import ClassificationTask
from keras_transfer.tasks.ner import NerTask

TASKS = {"classification": ClassificationTask, "ner": NerTask}
