"""The web demo in a real headless browser (Debian's chromium + chromedriver, Selenium): a real
frame uploaded with its relative depth, a caption typed, the depth with its metre colour bar
shown, the downloads valid files, the caption sweep drawn; a file that is not an image gives a
clear message on the page. ``TR2M_DEMO_SCREENSHOT=docs/images/demo.png`` keeps the screenshot."""
import io
import os
import shutil
import socket
import urllib.request

import cv2
import numpy as np
import pytest

from tr2m.apis.pointcloud import read_ply
from tr2m.datasets.depth_io import read_depth, read_rgb

CHROMIUM, CHROMEDRIVER = '/usr/bin/chromium', '/usr/bin/chromedriver'
FRAME = 'nyu_metric3d/rgb_00000.jpg'
CAPTION = 'A storage room with a white cabinet, boxes on the floor and a door.'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    """The demo page (offline demo model) served on 127.0.0.1."""
    os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
    from tr2m.demo import DEMO_NOTE, build_demo_model
    from tr2m.demo.app import build_app

    model = build_demo_model()
    app = build_app(model, DEMO_NOTE, 'smolvlm_256m_toy', str(tmp_path_factory.mktemp('demo')))
    port = _free_port()
    app.launch(server_name='127.0.0.1', server_port=port, prevent_thread_lock=True,
               ssr_mode=False, quiet=True)
    yield model, f'http://127.0.0.1:{port}/'
    app.close()


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert os.path.isfile(CHROMIUM) and os.path.isfile(CHROMEDRIVER), \
        'the browser test needs Debian chromium and chromium-driver (.ci/run installs them)'
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                 '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--window-size=1400,2200',
                 f'--user-data-dir={tmp_path_factory.mktemp("chromium")}'):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait(driver, condition, timeout=120):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.5).until(condition)


def _upload(driver, elem_id, path):
    from selenium.webdriver.common.by import By

    field = _wait(driver, lambda d: d.find_element(By.CSS_SELECTOR,
                                                   f'#{elem_id} input[type=file]'))
    field.send_keys(str(path))
    stem = os.path.splitext(os.path.basename(str(path)))[0]
    _wait(driver, lambda d: stem in d.find_element(By.ID, elem_id).text  # uploaded, shown
          and d.find_elements(By.CSS_SELECTOR, f'#{elem_id} button[aria-label=Clear]'))


def _text(driver, elem_id):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, elem_id).text


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read()


def test_bad_upload_shows_a_message(demo, browser, tmp_path):
    from selenium.webdriver.common.by import By

    _, url = demo
    bad = tmp_path / 'notes.txt'
    bad.write_text('not an image at all')
    browser.get(url)
    _upload(browser, 'image-file', bad)
    browser.find_element(By.CSS_SELECTOR, '#caption textarea').send_keys(CAPTION)
    browser.find_element(By.ID, 'run').click()
    _wait(browser, lambda d: 'Error' in _text(d, 'status'))
    message = _text(browser, 'status')
    assert 'notes.txt is not an image' in message, message
    assert not browser.find_elements(By.CSS_SELECTOR, '#panels img')


def test_upload_caption_depth_downloads_and_sweep(demo, browser, rgbd_real, rgbd_manifest,
                                                 tmp_path):
    from selenium.webdriver.common.by import By

    from tr2m.apis import infer_depth
    from tr2m.visualization import DepthStyle, render_panels

    model, url = demo
    frame = next(f for f in rgbd_manifest if f['rgb'] == FRAME)
    image = tmp_path / 'room.jpg'
    shutil.copy(rgbd_real / FRAME, image)
    # relative inverse depth from the frame's GT (median-normalised, holes filled)
    gt, valid = read_depth(str(rgbd_real / frame['depth']), frame['depth_format'],
                           frame['depth_scale'])
    inv = np.where(valid, 1.0 / np.where(valid, gt, 1.0), 0.0)
    rel = (np.where(valid, inv, np.median(inv[valid])) / np.median(inv[valid]))
    rel_path = tmp_path / 'room_rel.npy'
    np.save(rel_path, rel.astype(np.float32))

    browser.get(url)
    _wait(browser, lambda d: 'Offline demo model' in _text(d, 'model-note'))  # what runs
    _upload(browser, 'image-file', image)
    _upload(browser, 'rel-file', rel_path)
    browser.find_element(By.CSS_SELECTOR, '#caption textarea').send_keys(CAPTION)
    browser.find_element(By.ID, 'run').click()
    _wait(browser, lambda d: 'colour bar in m' in _text(d, 'status')
          and d.find_elements(By.CSS_SELECTOR, '#panels img')
          and len(d.find_elements(By.CSS_SELECTOR, '#downloads a')) >= 3)
    status = _text(browser, 'status')
    assert 'relative depth from the uploaded relative depth' in status
    assert 'guessed from a 60 degree field of view' in status

    # the depth picture shown is render_panels' figure, whose depth bar is labelled in metres
    img = browser.find_element(By.CSS_SELECTOR, '#panels img')
    assert browser.execute_script('return arguments[0].naturalWidth', img) > 0
    shown = cv2.imdecode(np.frombuffer(_fetch(img.get_attribute('src')), np.uint8),
                         cv2.IMREAD_COLOR)[..., ::-1]
    ref = infer_depth(model, read_rgb(str(image)), CAPTION, rel_depth=rel.astype(np.float32))
    fig = render_panels(read_rgb(str(image)), ref['depth'], scale=ref['scale'],
                        shift=ref['shift'], caption=CAPTION, protocol=dict(units='m'),
                        style=DepthStyle(), title='tr2m demo  ')
    assert list(fig.panels) == ['image', 'pred', 'scale', 'shift']
    assert fig.panels['pred'].ticks and all(t.label.endswith(' m')
                                            for t in fig.panels['pred'].ticks)
    assert shown.shape == fig.image.shape
    assert np.abs(shown.astype(int) - fig.image).mean() < 1.0
    cloud = browser.find_element(By.CSS_SELECTOR, '#cloud img')
    assert browser.execute_script('return arguments[0].naturalWidth', cloud) > 0

    # the downloads are valid files holding this prediction
    links = {a.get_attribute('href').split('/')[-1].split('?')[0]: a.get_attribute('href')
             for a in browser.find_elements(By.CSS_SELECTOR, '#downloads a')}
    npy = next(v for k, v in links.items() if k.endswith('.npy'))
    png = next(v for k, v in links.items() if k.endswith('.png'))
    ply = next(v for k, v in links.items() if k.endswith('.ply'))
    depth = np.load(io.BytesIO(_fetch(npy)), allow_pickle=False)
    assert depth.shape == (480, 640) and depth.dtype == np.float32
    np.testing.assert_allclose(depth, ref['depth'], rtol=1e-6)
    png16 = cv2.imdecode(np.frombuffer(_fetch(png), np.uint8), cv2.IMREAD_UNCHANGED)
    assert png16.dtype == np.uint16 and png16.shape == (480, 640)
    np.testing.assert_array_equal(png16, np.clip(np.round(depth * 1000), 0, 65535))
    (tmp_path / 'cloud.ply').write_bytes(_fetch(ply))
    info, vertex = read_ply(str(tmp_path / 'cloud.ply'))
    assert info['count'] == len(vertex) == int((depth > 0).sum())
    f = (640 / 2) / np.tan(np.radians(30))  # 60 degree field of view
    z = depth[100, 200]
    k = 100 * 640 + 200
    np.testing.assert_allclose([vertex['x'][k], vertex['y'][k], vertex['z'][k]],
                               [(200 - 319.5) * z / f, (100 - 239.5) * z / f, z], rtol=1e-5)

    # the caption sweep: one image, the default captions, one colour scale
    browser.find_element(By.ID, 'sweep').click()
    _wait(browser, lambda d: 'median depth' in _text(d, 'sweep-table')
          and d.find_elements(By.CSS_SELECTOR, '#sweep-image img'))
    assert 'one colour scale' in _text(browser, 'sweep-status')
    rows = [ln for ln in _text(browser, 'sweep-table').splitlines() if ln[:1].isdigit()]
    assert len(rows) == 4

    shot = tmp_path / 'demo.png'
    browser.save_screenshot(str(shot))
    assert cv2.imread(str(shot)).shape[0] > 500
    if os.environ.get('TR2M_DEMO_SCREENSHOT'):
        shutil.copy(shot, os.environ['TR2M_DEMO_SCREENSHOT'])
