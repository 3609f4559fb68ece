"""The Python peers' model: the same standard pipeline as `relearn train`
(mean/mode imputation fitted on the training rows, one-hot of text columns
with unseen levels as zeros, z-score of numeric features for the linear
learner), with scikit-learn's liblinear logistic regression or xgboost's
boosted trees with the same parameters."""
import numpy as np
import pandas as pd

LABEL = "income"


class Pipeline:
    def __init__(self, learner):
        self.learner = learner

    def fit(self, df):
        y = (df[LABEL] == ">50K").astype(int).to_numpy()
        x = df.drop(columns=[LABEL])
        self.numeric = [c for c in x.columns if pd.api.types.is_numeric_dtype(x[c])]
        self.text = [c for c in x.columns if c not in self.numeric]
        self.fill_num = {c: x[c].mean() for c in self.numeric}
        self.fill_text = {c: x[c].mode().iloc[0] for c in self.text}
        x = self._clean(x)
        self.levels = {c: sorted(x[c].unique()) for c in self.text}
        if self.learner == "logistic":
            self.mean = {c: x[c].mean() for c in self.numeric}
            self.std = {c: x[c].std(ddof=0) or 1.0 for c in self.numeric}
        m = self.matrix(x, cleaned=True)
        if self.learner == "logistic":
            from sklearn.linear_model import LogisticRegression
            self.model = LogisticRegression(solver="liblinear", C=1.0, tol=1e-4)
        else:
            import xgboost
            self.model = xgboost.XGBClassifier(
                tree_method="hist", grow_policy="lossguide", max_leaves=20, max_depth=0,
                min_child_weight=10, learning_rate=0.2, n_estimators=100, random_state=0,
                max_bin=256, n_jobs=1)
        self.model.fit(m, y)
        return self

    def _clean(self, x):
        x = x.copy()
        for c in self.numeric:
            x[c] = pd.to_numeric(x[c], errors="coerce").fillna(self.fill_num[c])
        for c in self.text:
            x[c] = x[c].fillna(self.fill_text[c]).astype(str)
        return x

    def matrix(self, x, cleaned=False):
        if not cleaned:
            x = self._clean(x)
        cols = []
        for c in self.numeric:
            v = x[c].to_numpy(dtype=float)
            if self.learner == "logistic":
                v = (v - self.mean[c]) / self.std[c]
            cols.append(v[:, None])
        for c in self.text:
            cat = pd.Categorical(x[c], categories=self.levels[c])
            onehot = np.zeros((len(x), len(self.levels[c])))
            codes = cat.codes
            ok = codes >= 0
            onehot[np.nonzero(ok)[0], codes[ok]] = 1.0
            cols.append(onehot)
        return np.hstack(cols)

    def score(self, x):
        p = self.model.predict_proba(self.matrix(x))[:, 1]
        return np.where(p >= 0.5, ">50K", "<=50K"), p
