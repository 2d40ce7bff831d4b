"""The smallest complete MLflow example: parameters, a metric per step, an image, the model, and a
metric read back from the tracking server. Reads MLFLOW_TRACKING_URI (`make up` prints it).

    python examples/mlflow_minimal.py
"""
import mlflow
import mlflow.pytorch
import numpy as np
import torch

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8 * 8, 3))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.rand(32, 1, 8, 8), torch.randint(0, 3, (32,))

mlflow.set_experiment("examples")
with mlflow.start_run() as run:
    mlflow.log_params({"lr": 0.1, "steps": 5})
    for step in range(5):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        mlflow.log_metric("train/loss", loss.item(), step=step)
    mlflow.log_image((x[0, 0].numpy() * 255).astype(np.uint8), "samples/first.png")
    mlflow.pytorch.log_model(model, name="model", input_example=x[:1].numpy(), pip_requirements=["torch"])

history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "train/loss")
print(f"run {run.info.run_id}: read back {len(history)} loss values, last {history[-1].value:.4f}")
