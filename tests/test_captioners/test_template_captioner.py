"""The surgical template captioner writes the paper's sentence from the frame's path."""
from tr2m.captioners import build_captioner


def test_the_papers_example_string():
    cap = build_captioner('surgical_c3vd')
    rows = cap.caption_images([None, None], ['desc_t2_a/0000_color.png',
                                             'sigmoid_t3_b/0102_color.png'])
    assert [c.text for c in rows[0]] == [
        'The image shows a surgical scene of descending colon with texture type two.']
    assert rows[1][0].text == ('The image shows a surgical scene of sigmoid colon with texture '
                               'type three.')
    prov = rows[0][0].provenance
    assert prov['captioner'] == 'surgical_c3vd' and prov['dataset'] == 'c3vd'
    assert prov['count'] == 1 and cap.needs_pixels is False


def test_simcol_and_an_unmatched_path():
    cap = build_captioner('surgical_simcol_toy')
    rows = cap.caption_images([None, None], ['SyntheticColon_II/Frames_B5/FrameBuffer_0001.png',
                                             'elsewhere/0001.png'])
    assert rows[0][0].text == ('The image shows a surgical scene of colon with texture type '
                               'two.')
    assert rows[1][0].text == '' and 'SyntheticColon' in cap.explain('elsewhere/0001.png')
