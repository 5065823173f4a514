"""churn/model's training step in Python, launched by the asset with Pipes (CHURN_TRAINER=python).

The asset writes the training matrix to a file on this machine and passes its path, and where to
write the model, in ``extras``. This script runs the same L2-regularised batch gradient descent as
``src/model.ts``, reports progress, the loss and the epochs back to Outpost, and writes the weights
to ``extras["modelPath"]``: the model never travels through Outpost, only what is reported does.
Standard library only; ``outpost_pipes`` is put on PYTHONPATH by ``pipes.run``.
"""

import json
import math
import os
import platform

from outpost_pipes import open_pipes

EPSILON = 1e-12


def sigmoid(z):
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


class Trainer:
    """Batch gradient descent on the mean log loss plus (l2 / 2) * |w|^2, stopping early on a small improvement."""

    def __init__(self, x, y, options):
        if not x or len(x) != len(y):
            raise ValueError("training needs as many labels as rows, and at least one")
        self.x, self.y, self.options = x, y, options
        self.weights = [0.0] * len(x[0])
        self.bias = 0.0
        self.epochs = 0
        self.converged = False
        self.loss_history = [self.loss()]

    @property
    def done(self):
        return self.converged or self.epochs >= self.options["maxEpochs"]

    def step(self, epochs):
        """Runs up to ``epochs`` more epochs; returns False once training is finished."""
        for _ in range(epochs):
            if self.done:
                break
            self.descend()
            self.epochs += 1
            loss = self.loss()
            previous = self.loss_history[-1]
            self.loss_history.append(loss)
            if 0 <= previous - loss < self.options["tolerance"]:
                self.converged = True
        return not self.done

    def linear(self, row):
        z = self.bias
        for w, v in zip(self.weights, row):
            z += w * v
        return z

    def descend(self):
        n = len(self.x)
        gradient = [0.0] * len(self.weights)
        gradient_bias = 0.0
        for row, label in zip(self.x, self.y):
            error = sigmoid(self.linear(row)) - label
            for j, v in enumerate(row):
                gradient[j] += error * v
            gradient_bias += error
        rate, l2 = self.options["learningRate"], self.options["l2"]
        self.weights = [w - rate * (g / n + l2 * w) for w, g in zip(self.weights, gradient)]
        self.bias -= rate * gradient_bias / n

    def loss(self):
        total = 0.0
        for row, label in zip(self.x, self.y):
            p = sigmoid(self.linear(row))
            total -= math.log(p + EPSILON) if label == 1 else math.log(1 - p + EPSILON)
        penalty = self.options["l2"] / 2 * sum(w * w for w in self.weights)
        return total / len(self.x) + penalty


def write_atomically(path, document):
    partial = f"{path}.partial"
    with open(partial, "w", encoding="utf-8") as out:
        json.dump(document, out)
    os.replace(partial, path)


with open_pipes() as pipes:
    extras = pipes.extras
    with open(extras["trainingSet"], encoding="utf-8") as source:
        training_set = json.load(source)
    options = training_set["options"]
    trainer = Trainer(training_set["x"], training_set["y"], options)
    every = int(extras.get("epochsPerReport", 100))
    progress = "epochs of gradient descent (Python)"
    while trainer.step(every):
        pipes.report_progress("training", trainer.epochs / options["maxEpochs"], description=progress)
    pipes.report_progress("training", 1, description=progress)
    write_atomically(
        extras["modelPath"],
        {
            "weights": trainer.weights,
            "bias": trainer.bias,
            "epochs": trainer.epochs,
            "lossHistory": trainer.loss_history,
        },
    )
    pipes.log.info(
        f"trained {len(trainer.weights)} weights on {len(trainer.x)} rows for {trainer.epochs} epochs "
        f"in Python {platform.python_version()}, final loss {trainer.loss_history[-1]:.4f}"
    )
    pipes.report_result({"epochs": trainer.epochs, "python": platform.python_version()})
