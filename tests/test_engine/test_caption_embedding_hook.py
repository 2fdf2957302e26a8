"""``CaptionEmbeddingHook``: every caption of the data embedded once, before training; steps
then never call the text encoder."""
from types import SimpleNamespace

import torch

from tr2m.engine.hooks import CaptionEmbeddingHook


class FakeDataset:
    def __init__(self, captions):
        self.captions = captions

    def __len__(self):
        return len(self.captions)

    def get_data_info(self, i):
        return dict(captions=self.captions[i])


def test_captions_embedded_once(tiny_tr2m, tiny_batch):
    model = tiny_tr2m()
    calls = []
    raw = model.text_encoder._encode
    model.text_encoder._encode = lambda caps: calls.append(list(caps)) or raw(caps)
    batch = tiny_batch(n=3)
    train = FakeDataset([[s.caption, s.caption + '.', ' '] for s in batch['data_samples']])
    val = FakeDataset([[batch['data_samples'][0].caption]])  # shared with train: once
    runner = SimpleNamespace(model=model, train_dataloader=SimpleNamespace(dataset=train),
                             val_loop=SimpleNamespace(dataloader=SimpleNamespace(dataset=val)))
    CaptionEmbeddingHook(batch_size=4).before_train(runner)
    flat = [c for call in calls for c in call]
    assert len(flat) == len(set(flat)) == 6 and [len(c) for c in calls] == [4, 2]
    model.train()
    for _ in range(3):  # three "epochs"
        losses = model(**model.data_preprocessor(batch, True), mode='loss')
        assert torch.isfinite(losses['loss_silog'])
    assert len(calls) == 2  # no encoder call during the steps
    assert len(model.text_encoder.caption_table) == 6


def test_noop_without_text_encoder(tiny_tr2m):
    model = tiny_tr2m(text_encoder=None, neck=dict(type='CrossModalAttentionNeck', num_heads=4,
                                                   modalities=('image',)))
    runner = SimpleNamespace(model=model, train_dataloader=SimpleNamespace(
        dataset=FakeDataset([['x']])))
    CaptionEmbeddingHook().before_train(runner)  # nothing to embed, nothing raised
