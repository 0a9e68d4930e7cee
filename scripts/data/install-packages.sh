#!/bin/sh
# Install the Debian packages the benchmark sets are built from (scripts/data/build_sets.py;
# scripts/data/build_shifts.py needs nothing beyond python3-numpy and python3-pil;
# scripts/data/build_camera_faults.py adds the photographs of plasma-workspace-wallpapers and
# python-matplotlib-data).
#
#   sudo scripts/data/install-packages.sh        # or as root; then:
#   /usr/bin/python3 scripts/data/build_sets.py
#   /usr/bin/python3 scripts/data/build_shifts.py
#
# On a machine without apt-get (not Debian/Ubuntu) it installs nothing and prints which files
# are needed, where build_sets.py looks for them, and where they come from upstream.
set -eu

PACKAGES="dataset-fashion-mnist opencv-doc gimp-data fonts-dejavu-core fonts-liberation fonts-freefont-ttf
fonts-wqy-zenhei fonts-arphic-ukai adwaita-icon-theme python3-numpy python3-pil
plasma-workspace-wallpapers python-matplotlib-data"

print_manual() {
  cat <<'EOF'
No apt-get here: place these files by hand (or pass other folders to build_sets.py with
--fmnist-dir, --opencv-data-dir, --gimp-patterns-dir, --fonts-dir, --icons-dir).

1. Fashion-MNIST (Debian: dataset-fashion-mnist; licence MIT/Expat, (c) 2017 Zalando SE)
   /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
   /usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz
   /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
   /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
   upstream: https://github.com/zalandoresearch/fashion-mnist  (folder data/fashion/)
   (uncompressed files with the same names without .gz work too)

2. OpenCV sample images (Debian: opencv-doc 4.6.0; licence Apache-2.0 AND BSD-3-Clause)
   into /usr/share/doc/opencv-doc/examples/data/:
     digits.png
     aero1.jpg aero3.jpg aloeL.jpg apple.jpg baboon.jpg basketball1.png board.jpg
     box_in_scene.png building.jpg butterfly.jpg chicky_512.png ela_original.jpg fruits.jpg
     graf1.png home.jpg left.jpg leuvenA.jpg messi5.jpg orange.jpg rubberwhale1.png
     squirrel_cls.jpg stuff.jpg
   upstream: https://github.com/opencv/opencv  tag 4.6.0, folder samples/data/

3. GIMP texture patterns (Debian: gimp-data 2.10.x; GIMP's data files, licence as listed in
   gimp-data's copyright file: GPL-3+ and others) into /usr/share/gimp/2.0/patterns/:
     Animal/leather.pat Fabric/burlap.pat Food/java.pat Paper/crinklepaper.pat Paper/paper.pat
     Plant/leaves.pat Sky/sky.pat Stone/Moonfoot.pat Stone/amethyst.pat Stone/brick.pat
     Stone/cracked.pat Stone/granite1.pat Stone/ground1.pat Stone/marble1.pat Stone/marble2.pat
     Stone/marble3.pat Stone/pink_marble.pat Stone/rock.pat Stone/slate.pat Stone/stone33.pat
     Water/ice.pat Water/pool.pat Wood/bark.pat Wood/burlwood.pat Wood/corkboard.pat
     Wood/parque1.pat Wood/parque2.pat Wood/parque3.pat Wood/walnut.pat Wood/wood1.pat
     Wood/wood3.pat Wood/wood4.pat Wood/wood5.pat
   upstream: https://gitlab.gnome.org/GNOME/gimp  tag GIMP_2_10_34, folder data/patterns/

4. Fonts (sets letters and cjk) under /usr/share/fonts/truetype/ (--fonts-dir):
     dejavu/DejaVu{Sans,Sans-Bold,Serif,Serif-Bold,SansMono,SansMono-Bold}.ttf
       (Debian fonts-dejavu-core 2.37; bitstream-vera licence; https://dejavu-fonts.github.io/)
     liberation/Liberation{Sans,Serif,Mono,SansNarrow}-{Regular,Bold,Italic,BoldItalic}.ttf
       (Debian fonts-liberation 1:1.07.4; GPL-2 with font exception; https://pagure.io/liberation-fonts/)
     freefont/Free{Sans,Serif,Mono}{,Bold,Oblique|Italic,BoldOblique|BoldItalic}.ttf
       (Debian fonts-freefont-ttf 20120503; GPL-3+ with font exception; GNU FreeFont)
     wqy/wqy-zenhei.ttc   (Debian fonts-wqy-zenhei 0.9.45; GPL-2 with font embedding exception)
     arphic/ukai.ttc      (Debian fonts-arphic-ukai 0.2.20080216.2; Arphic Public License)

5. Adwaita symbolic icons (set icons; Debian adwaita-icon-theme 43; CC-BY-SA-3.0 or LGPL-3):
     /usr/share/icons/Adwaita/96x96/<category>/*-symbolic.symbolic.png   (--icons-dir)
   upstream: https://gitlab.gnome.org/GNOME/adwaita-icon-theme  tag 43

6. Photographs for the camera-fault sets (build_camera_faults.py; --wallpapers-dir, --matplotlib-photo):
     /usr/share/wallpapers/{BytheWater,ColdRipple,ColorfulCups,DarkestHour,EveningGlow,FallenLeaf,
       Grey,Kite,OneStandsOut,Path,summer_1am}/contents/images/<largest>.jpg
       (Debian plasma-workspace-wallpapers 5.27; GPL-2+; https://invent.kde.org/plasma/plasma-workspace-wallpapers)
     /usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg
       (Debian python-matplotlib-data 3.6; matplotlib licence; https://github.com/matplotlib/matplotlib)

7. Python 3 with numpy and Pillow (PIL).

Versions differ from the Debian ones only if upstream changed the files; build_sets.py
records the sha256 of every input file in each set's manifest.json, so compare with the
manifests of a Debian build (scripts/data/README.md lists the versions used).
EOF
}

if ! command -v apt-get >/dev/null 2>&1 || [ ! -f /etc/debian_version ]; then
  print_manual
  exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
  else
    echo "install-packages.sh: run as root (apt-get install needs it)" >&2
    exit 1
  fi
else
  SUDO=
fi

missing=
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $p"
  fi
done
if [ -z "$missing" ]; then
  echo "all packages present:"
else
  echo "installing:$missing"
  $SUDO apt-get install -y $missing || {
    echo "apt-get install failed; try '$SUDO apt-get update' first (opencv-doc is in Debian main;" >&2
    echo "all are in Debian 12 bookworm)" >&2
    exit 1
  }
fi
for p in $PACKAGES; do
  printf '  %-24s %s\n' "$p" "$(dpkg-query -W -f='${Version}' "$p")"
done
