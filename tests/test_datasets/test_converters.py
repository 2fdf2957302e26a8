"""The offline parts of tools/dataset_converters (downloads cannot run here)."""
import json
import os
import shutil
import urllib.error
import urllib.request
import zipfile

import captions_to_json
import converter_utils
import cv2
import make_manifest
import numpy as np
import prepare_c3vd
import prepare_diode
import prepare_hypersim
import prepare_ibims
import prepare_kitti
import prepare_nyu
import prepare_rsa_text
import prepare_simcol
import prepare_sunrgbd
import prepare_void
import pytest
import scipy.io

from tr2m.datasets import (
    C3VDDataset,
    DepthManifestDataset,
    HyperSimDataset,
    IBims1Dataset,
    JSONCaptionSource,
    NYUv2Dataset,
    RSACaptionSource,
    SimColDataset,
    read_depth,
)

from ._trees import rsa_captions


def test_rsa_text_install_from_checkout(tmp_path, rsa_text, trees):
    src = tmp_path / 'RSA-7e88bc2' / 'DPT_LanScale'
    key = trees.nyu_test[0][0][:-4] + '.txt'
    (src / 'text/text_all/nyu/test' / key).parent.mkdir(parents=True)
    shutil.copy(rsa_text / 'text/text_all/nyu/test' / key, src / 'text/text_all/nyu/test' / key)
    (src / 'data_splits').mkdir()
    shutil.copy(rsa_text / 'data_splits/nyudepthv2_test_files_with_gt.txt', src / 'data_splits')
    counts = prepare_rsa_text.install_rsa_text(str(tmp_path), str(tmp_path / 'out'))
    assert counts == {'nyu/test': 1}
    source = RSACaptionSource(str(tmp_path / 'out/text/text_all'), 'nyu', 'test')
    assert source.captions(trees.nyu_test[0][0]) == rsa_captions(rsa_text, 'nyu',
                                                                 trees.nyu_test[0][0])
    assert (tmp_path / 'out/data_splits/nyudepthv2_test_files_with_gt.txt').is_file()
    assert prepare_rsa_text.RSA_COMMIT in (rsa_text / 'SOURCE_COMMIT').read_text()


def test_nyu_export_official_layout(tmp_path, rgbd_real, trees):
    frame = trees.nyu_frames[0]
    rgb = cv2.imread(str(rgbd_real / frame['rgb']))[..., ::-1]
    depth, _ = read_depth(str(rgbd_real / frame['depth']), 'png_uint16', 1000.0)
    n = prepare_nyu.export_official([rgb, rgb], [depth, depth], ['kitchen', 'bathroom'], [2],
                                    str(tmp_path / 'test'))
    assert n == 1
    back, _ = read_depth(str(tmp_path / 'test/bathroom/sync_depth_00001.png'), 'png_uint16',
                         1000.0)
    np.testing.assert_allclose(back, depth, atol=1e-3)
    img = cv2.imread(str(tmp_path / 'test/bathroom/rgb_00001.jpg'))
    assert img.shape == (480, 640, 3)
    assert img[:7].mean() < 3 and img[:, 632:].mean() < 3  # black frame (JPEG ringing aside)
    assert img[7:474, 7:632].mean() > 20
    prepare_nyu.install_split_files(str(tmp_path / 'nyu'), str(trees.nyu / 'splits'))
    assert (tmp_path / 'nyu/splits/nyudepthv2_train_files_with_gt.txt').is_file()
    assert prepare_nyu.check_layout(str(trees.nyu))
    assert not prepare_nyu.check_layout(str(tmp_path / 'nyu'))
    ds = NYUv2Dataset(data_root=str(tmp_path), data_prefix=dict(img_path='test',
                                                                depth_path='test'),
                      ann_file=str(trees.nyu / 'splits/nyudepthv2_test_files_with_gt.txt'),
                      lazy_init=True)
    assert ds.img_root.endswith('test')


def test_kitti_drives_merge_and_check(tmp_path, trees, rsa_text):
    lines = (rsa_text / 'data_splits/eigen_test_files_with_gt.txt').read_text().splitlines()
    drives = prepare_kitti.drives_in_split(lines)
    assert len(drives) == 28 and drives[0] == '2011_09_26_drive_0002'
    src = tmp_path / 'annotated'
    (src / 'train/2011_09_26_drive_0001_sync/proj_depth').mkdir(parents=True)
    (src / 'val/2011_09_26_drive_0002_sync/proj_depth').mkdir(parents=True)
    assert prepare_kitti.merge_annotated(str(src), str(tmp_path / 'merged')) == 2
    assert (tmp_path / 'merged/2011_09_26_drive_0002_sync/proj_depth').is_dir()
    root = tmp_path / 'kitti'
    (root / 'splits').mkdir(parents=True)
    for sub in ('raw', 'data_depth_annotated'):
        (root / sub).symlink_to(trees.kitti / sub)
    shutil.copy(trees.kitti / 'splits/eigen_train_files_with_gt.txt', root / 'splits')
    (root / 'splits/eigen_test_files_with_gt.txt').write_text(
        ''.join(' '.join(line) + '\n' for line in trees.kitti_test))
    assert prepare_kitti.check_layout(str(root))  # incl. the train list without <date>/
    assert not prepare_kitti.check_layout(str(trees.kitti))  # the no-GT line's image is absent


def test_void_find_lists_check(tmp_path, trees, rsa_text):
    (tmp_path / 'x/void_release/void_1500/data').mkdir(parents=True)
    assert prepare_void.find_void_1500(str(tmp_path / 'x')).endswith('void_release/void_1500')
    out = tmp_path / 'void'
    (out / 'void_1500').mkdir(parents=True)
    (out / 'void_1500/data').symlink_to(trees.void / 'void_1500/data')
    assert not prepare_void.check_layout(str(out))
    prepare_void.install_lists(str(out), str(trees.void / 'void_1500'))
    assert prepare_void.check_layout(str(out))
    prepare_void.install_lists(str(tmp_path / 'void'), str(rsa_text / 'data_splits/void'))
    assert len((out / 'void_1500/test_image.txt').read_text().split()) == 3  # kept


def test_c3vd_collect_and_split(tmp_path, trees):
    src = tmp_path / 'downloads'
    for seq in ('cecum_t1_a_under_review', 'sigmoid_t3_b'):
        (src / seq).mkdir(parents=True)
        base = 'cecum_t1_a' if seq.startswith('cecum') else 'sigmoid_t3_b'
        for name in ('0000_color.png', '0000_depth.tiff'):
            os.symlink(trees.c3vd / base / name, src / seq / name)
    frames = prepare_c3vd.collect_sequences(str(src), str(tmp_path / 'c3vd'))
    assert frames == {'cecum_t1_a': 1, 'sigmoid_t3_b': 1}
    with pytest.raises(ValueError, match='trans_t4_b'):
        prepare_c3vd.write_splits(str(tmp_path / 'c3vd'), ['trans_t4_b'])
    splits = prepare_c3vd.write_splits(str(tmp_path / 'c3vd'), ['sigmoid_t3_b'])
    assert splits == dict(train=['cecum_t1_a/0000_color.png'],
                          test=['sigmoid_t3_b/0000_color.png'])
    ds = C3VDDataset(data_root=str(tmp_path / 'c3vd'), split='train')
    assert ds.get_data_info(0)['caption_key'] == 'cecum_t1_a/0000_color.png'
    assert len(prepare_c3vd.C3VD_SEQUENCES) == 22
    assert set(prepare_c3vd.DEFAULT_TEST_SEQUENCES) <= set(prepare_c3vd.C3VD_SEQUENCES)


def test_simcol_split_files(tmp_path, trees):
    (tmp_path / 'SyntheticColon_II').symlink_to(trees.simcol / 'SyntheticColon_II')
    splits = prepare_simcol.write_split_files(str(tmp_path))
    assert splits == dict(train=[], test=['SyntheticColon_II/Frames_B5'])
    assert len(SimColDataset(data_root=str(tmp_path), split='test')) == 2


def test_sunrgbd_allsplit_parsing(tmp_path):
    cells = np.empty((1, 2), dtype=object)
    cells[0, 0] = '/n/fs/sun3d/data/SUNRGBD/kv1/NYUdata/NYU0001'
    cells[0, 1] = '/n/fs/sun3d/data/SUNRGBD/kv2/kinect2data/000002_2014-05-26_14-23-37/'
    train = np.empty((1, 1), dtype=object)
    train[0, 0] = '/n/fs/sun3d/data/SUNRGBD/realsense/lg/2014_10_24-14_22_46-1311000073'
    scipy.io.savemat(tmp_path / 'allsplit.mat', dict(alltest=cells, alltrain=train))
    lists = prepare_sunrgbd.split_lists_from_allsplit(str(tmp_path / 'allsplit.mat'))
    assert lists == dict(train=['realsense/lg/2014_10_24-14_22_46-1311000073'],
                         test=['kv1/NYUdata/NYU0001',
                               'kv2/kinect2data/000002_2014-05-26_14-23-37'])


def test_ibims_and_diode_layouts(tmp_path, trees):
    assert prepare_ibims.check_layout(str(trees.ibims))
    assert not prepare_ibims.check_layout(str(tmp_path))
    (tmp_path / 'val').symlink_to(trees.diode / 'val')
    lists = prepare_diode.write_split_lists(str(tmp_path))
    assert lists == dict(outdoor=[trees.diode_img], indoor=[])
    assert (tmp_path / 'splits/diode_val_outdoor.txt').read_text() == trees.diode_img + '\n'


def test_hypersim_split_csv(tmp_path, trees):
    csv = tmp_path / 'split.csv'
    csv.write_text('scene_name,camera_name,frame_id,included_in_public_release,exclude_reason,'
                   'split_partition_name\n'
                   'ai_001_010,cam_00,0,True,,test\n'
                   'ai_001_010,cam_00,1,False,bad,test\n'
                   'ai_001_001,cam_01,7,True,,train\n')
    frames = prepare_hypersim.frames_from_csv(str(csv), 'test')
    assert frames == [('ai_001_010', 'cam_00', 0)]
    img, depth = prepare_hypersim.frame_paths(frames[0])
    assert img == trees.hypersim_img
    assert prepare_hypersim.members_by_scene(frames) == {'ai_001_010': [img, depth]}
    (tmp_path / 'splits').mkdir()
    (tmp_path / 'splits/hypersim_test.txt').write_text(img + '\n')
    (tmp_path / 'ai_001_010').symlink_to(trees.hypersim / 'ai_001_010')
    ds = HyperSimDataset(data_root=str(tmp_path))
    assert ds.get_data_info(0)['depth_path'].endswith(depth)


def test_captions_to_json(tmp_path, rsa_text, trees):
    images = [line[0] for line in trees.nyu_test]
    table = captions_to_json.txt_tree_to_dict(str(rsa_text / 'text/text_all/nyu/test'), images)
    (tmp_path / 'c.json').write_text(json.dumps(table))
    source = JSONCaptionSource(str(tmp_path / 'c.json'))
    assert source.captions(images[2]) == rsa_captions(rsa_text, 'nyu', images[2])
    with pytest.raises(FileNotFoundError, match='rgb_99999'):
        captions_to_json.txt_tree_to_dict(str(rsa_text / 'text/text_all/nyu/test'),
                                          ['bathroom/rgb_99999.jpg'])


def test_extract_guards_paths(tmp_path):
    good = tmp_path / 'good.zip'
    with zipfile.ZipFile(good, 'w') as zf:
        zf.writestr('seq/a.txt', 'x')
    converter_utils.extract(str(good), str(tmp_path / 'out'))
    assert (tmp_path / 'out/seq/a.txt').read_text() == 'x'
    bad = tmp_path / 'bad.zip'
    with zipfile.ZipFile(bad, 'w') as zf:
        zf.writestr('../evil.txt', 'x')
    with pytest.raises(ValueError, match='escapes'):
        converter_utils.extract(str(bad), str(tmp_path / 'out2'))


def test_captions_to_json_for_ibims_names(tmp_path, trees):
    (tmp_path / 'txt').mkdir()
    (tmp_path / 'txt/corridor_01.txt').write_text('A corridor.\nA hallway.\n')
    table = captions_to_json.txt_tree_to_dict(str(tmp_path / 'txt'), ['corridor_01'], '.png')
    (tmp_path / 'captions.json').write_text(json.dumps(table))
    ds = IBims1Dataset(data_root=str(trees.ibims), caption_source=dict(
        type='JSONCaptionSource', ann_file=str(tmp_path / 'captions.json')))
    assert ds.get_data_info(0)['captions'] == ['A corridor.', 'A hallway.']


# --------------------------------------------------------------------------- offline behaviour

@pytest.fixture
def no_network(monkeypatch):
    """urlopen fails as it does offline; the list records every URL that was tried."""
    tried = []

    def fail(url, *args, **kwargs):
        tried.append(url)
        raise urllib.error.URLError('[Errno -2] Name or service not known')

    monkeypatch.setattr(urllib.request, 'urlopen', fail)
    monkeypatch.delenv(converter_utils.OFFLINE_ENV, raising=False)
    return tried


def test_download_failure_is_one_line_with_url_and_place(tmp_path, no_network, monkeypatch):
    dst = tmp_path / 'dl' / 'file.zip'
    with pytest.raises(converter_utils.DownloadError) as err:
        converter_utils.download('http://example.org/file.zip', str(dst), hint='--zip FILE')
    assert str(err.value) == ('cannot download http://example.org/file.zip ([Errno -2] Name or '
                              f'service not known): download it and put it at {dst} (or pass '
                              '--zip FILE), then rerun')
    assert no_network == ['http://example.org/file.zip'] and not dst.exists()
    assert not (tmp_path / 'dl' / 'file.zip.part').exists()
    monkeypatch.setenv(converter_utils.OFFLINE_ENV, '1')  # forbidden: not even tried
    with pytest.raises(converter_utils.DownloadError, match='downloads are off'):
        converter_utils.download('http://example.org/other.zip', str(dst))
    assert no_network == ['http://example.org/file.zip']
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(b'put here by the user')  # a file where it would go is used as it is
    assert converter_utils.download('http://example.org/file.zip', str(dst)) == str(dst)


@pytest.mark.parametrize('script, args, url', [
    (prepare_rsa_text, [], 'https://github.com/Adonis-galaxy/RSA/archive/'),
    (prepare_nyu, [], 'https://raw.githubusercontent.com/cleinc/bts/master/train_test_inputs/'),
    (prepare_kitti, [], 'https://raw.githubusercontent.com/cleinc/bts/'),
    (prepare_void, [], 'https://github.com/alexklwong/void-dataset'),
    (prepare_c3vd, ['--src', 'nowhere'], 'https://durrlab.github.io/C3VD/'),
    (prepare_sunrgbd, [], 'http://rgbd.cs.princeton.edu/data/SUNRGBDtoolbox.zip'),
    (prepare_ibims, [], 'ftp://m1455541:m1455541@dataserv.ub.tum.de/ibims1_core_raw.zip'),
    (prepare_hypersim, [], 'https://raw.githubusercontent.com/apple/ml-hypersim/'),
    (prepare_diode, [], 'http://diode-dataset.s3.amazonaws.com/val.tar.gz'),
    (prepare_simcol, [], 'https://rdr.ucl.ac.uk/articles/dataset/Simcol3D'),
])
def test_every_converter_offline_says_what_to_fetch(script, args, url, tmp_path, no_network,
                                                    monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr('sys.argv', [script.__name__ + '.py'])
    with pytest.raises(SystemExit) as done:
        converter_utils.run(lambda argv: script.main(['--out', str(tmp_path / 'out'), *args]))
    err = capsys.readouterr().err
    assert done.value.code == 2 and err.count('\n') == 1 and 'Traceback' not in err
    assert url in err and 'error: ' in err
    if no_network:  # a download was tried: the message says where to put the file
        assert ' put it at ' in err


def test_prepare_nyu_splits_from_never_downloads(tmp_path, trees, no_network):
    out = tmp_path / 'nyu'
    (out / 'official_splits').mkdir(parents=True)
    (out / 'official_splits' / 'test').symlink_to(trees.nyu / 'official_splits' / 'test')
    assert prepare_nyu.main(['--out', str(out), '--splits-from', str(trees.nyu / 'splits'),
                             '--sync-dir', str(trees.nyu / 'sync'), '--captions-from',
                             str(trees.text_root), '--captions-out', str(tmp_path / 'rsa')])
    assert no_network == []
    ds = NYUv2Dataset(data_root=str(out), split='test', caption_source=dict(
        type='RSACaptionSource', root=str(tmp_path / 'rsa/text/text_all'), dataset='nyu',
        split='test'))
    assert len(ds) == 3 and ds.get_data_info(0)['captions']
    # a list that --splits-from lacks is an error naming it, never a download
    with pytest.raises(converter_utils.MissingFileError, match='nyudepthv2_train_files_with_gt'):
        prepare_nyu.main(['--out', str(tmp_path / 'nyu2'), '--splits-from',
                          str(trees.nyu / 'official_splits')])
    assert no_network == []


def test_local_caption_folders_and_archives(tmp_path, trees, rsa_text):
    key = trees.nyu_test[0][0]
    expected = rsa_captions(rsa_text, 'nyu', key)
    # an RSA-like checkout in a zip: RSA-<commit>/DPT_LanScale/text/text_all/nyu/...
    archive = tmp_path / 'rsa.zip'
    with zipfile.ZipFile(archive, 'w') as zf:
        for path in (trees.text_root / 'nyu').rglob('*.txt'):
            rel = path.relative_to(trees.text_root)
            zf.write(path, f'RSA-abc/DPT_LanScale/text/text_all/{rel}')
    for src in (trees.text_root, trees.text_root / 'nyu', archive):
        out = tmp_path / f'out_{src.name}'
        converter_utils.install_rsa_captions(str(src), str(out), 'nyu')
        source = RSACaptionSource(str(out / 'text/text_all'), 'nyu', 'test')
        assert source.captions(key) == expected
    with pytest.raises(converter_utils.MissingFileError, match="no RSA caption folder for 'void'"):
        converter_utils.install_rsa_captions(str(trees.text_root / 'nyu'), str(tmp_path), 'void')
    # JSON captions for the zero-shot sets: from a JSON file, a .txt tree or its archive
    tree = tmp_path / 'txt'
    (tree / 'scene').mkdir(parents=True)
    (tree / 'scene' / 'a.txt').write_text('One.\nTwo.\n')
    zipped = tmp_path / 'txt.zip'
    with zipfile.ZipFile(zipped, 'w') as zf:
        zf.write(tree / 'scene' / 'a.txt', 'scene/a.txt')
    for src in (tree, zipped):
        dst = tmp_path / f'{src.name}.json'
        converter_utils.install_json_captions(str(src), str(dst), ext='.png')
        assert json.loads(dst.read_text()) == {'scene/a.png': ['One.', 'Two.']}
    converter_utils.install_json_captions(str(tmp_path / 'txt.json'), str(tmp_path / 'c.json'))
    assert JSONCaptionSource(str(tmp_path / 'c.json')).captions('scene/a.png') == ['One.', 'Two.']
    (tmp_path / 'bad.json').write_text('[1]')
    with pytest.raises(converter_utils.DataError, match='must hold an object'):
        converter_utils.install_json_captions(str(tmp_path / 'bad.json'), str(tmp_path / 'x'))


def test_make_manifest_from_folders_and_manifests(tmp_path, rgbd_real, rgbd_manifest):
    kitchen = [f for f in rgbd_manifest if f['dataset'] == '7scenes_redkitchen'][:2]
    rgb, depth = tmp_path / 'frames/rgb', tmp_path / 'frames/depth'
    rgb.mkdir(parents=True)
    depth.mkdir(parents=True)
    for i, frame in enumerate(kitchen):  # links: the frames are read in place
        os.symlink(rgbd_real / frame['rgb'], rgb / f'{i:02d}.jpg')
        os.symlink(rgbd_real / frame['depth'], depth / f'{i:02d}.png')
    out = tmp_path / 'frames' / 'manifest.json'
    manifest = make_manifest.main([
        '--rgb-dir', str(rgb), '--depth-dir', str(depth), '--depth-format',
        'png_uint16_65535_invalid', '--depth-scale', '1000', '--intrinsics', '585', '585', '320',
        '240', '--caption-template', 'Frame {stem} of a {scene_type} kitchen.', '--scene-type',
        'indoor', '--dataset', 'kitchen', '--out', str(out)])
    assert [f['rgb'] for f in manifest['frames']] == ['rgb/00.jpg', 'rgb/01.jpg']
    assert manifest['frames'][1]['captions'] == ['Frame 01 of a indoor kitchen.']
    ds = DepthManifestDataset(ann_file=str(out))
    info = ds.get_data_info(1)
    assert info['intrinsics'] == [585.0, 585.0, 320.0, 240.0] and info['dataset_name'] == 'kitchen'
    ref, _ = read_depth(str(rgbd_real / kitchen[1]['depth']), kitchen[1]['depth_format'],
                        kitchen[1]['depth_scale'])
    got, _ = read_depth(info['depth_path'], info['depth_format'], info['depth_scale'])
    np.testing.assert_array_equal(got, ref)
    # from the shared manifest, captions by file name (TSV), paths rebased, nothing copied
    tsv = tmp_path / 'caps.tsv'
    nyu = [f for f in rgbd_manifest if f['dataset'] == 'nyu_v2']
    tsv.write_text(''.join(f"{os.path.basename(f['rgb'])}\tNYU frame {i}.\n"
                           for i, f in enumerate(nyu)))
    out2 = tmp_path / 'sub' / 'nyu.json'
    manifest = make_manifest.main(['--from-manifest', str(rgbd_real / 'manifest.json'),
                                   '--datasets', 'nyu_v2', '--captions', str(tsv), '--out',
                                   str(out2)])
    assert [f['captions'] for f in manifest['frames']] == [[f'NYU frame {i}.'] for i in range(3)]
    assert sorted(os.listdir(tmp_path / 'sub')) == ['nyu.json']
    ds = DepthManifestDataset(ann_file=str(out2))
    assert os.path.samefile(ds.get_data_info(0)['img_path'], rgbd_real / nyu[0]['rgb'])
    assert ds.get_data_info(0)['intrinsics'] == nyu[0]['K']
    with pytest.raises(converter_utils.DataError, match='has no caption'):
        make_manifest.main(['--from-manifest', str(rgbd_real / 'manifest.json'), '--out',
                            str(tmp_path / 'x.json')])
