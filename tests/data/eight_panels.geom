; An eight-panel test detector in CrystFEL 0.10 syntax (tests/test_panels.py computes its pixel
; positions by hand).  Two panel sizes: four 12 x 8 modules (q*) and four 10 x 10 modules (m*).
wavelength = 1.0 A
clen = 80 mm
res = 5000            ; 0.2 mm pixels unless a panel says otherwise
adu_per_eV = 0.0001
coffset = 0.0
dim0 = ss
dim1 = fs
data = /data/data
rigid_group_q = q0,q1,q2,q3
group_all = q0,q1,q2,q3,m0,m1,m2,m3

q0/min_fs = 0
q0/max_fs = 11
q0/min_ss = 0
q0/max_ss = 7
q0/fs = +1.0x +0.0y
q0/ss = +0.0x -1.0y
q0/corner_x = -14.0
q0/corner_y = 10.0

; rotated by 1 degree in the detector plane
q1/min_fs = 0
q1/max_fs = 11
q1/min_ss = 8
q1/max_ss = 15
q1/fs = +0.9998477x +0.0174524y
q1/ss = +0.0174524x -0.9998477y
q1/corner_x = 2.0
q1/corner_y = 10.0

q2/min_fs = 0
q2/max_fs = 11
q2/min_ss = 16
q2/max_ss = 23
q2/fs = x
q2/ss = -y
q2/corner_x = -14
q2/corner_y = -2

q3/min_fs = 0
q3/max_fs = 11
q3/min_ss = 24
q3/max_ss = 31
q3/fs = +1x
q3/ss = -1y
q3/corner_x = 2
q3/corner_y = -2
q3/coffset = 0.0005

; the m* modules: a new default gain for the panels first mentioned below
adu_per_photon = 1.0

; fast axis along -y, slow along -x (f x s points at the sample: the normal is flipped)
m0/min_fs = 0
m0/max_fs = 9
m0/min_ss = 32
m0/max_ss = 41
m0/fs = -1.0y
m0/ss = -1.0x
m0/corner_x = -16
m0/corner_y = 5

; 0.25 mm pixels
m1/res = 4000
m1/min_fs = 0
m1/max_fs = 9
m1/min_ss = 42
m1/max_ss = 51
m1/fs = +1.0x
m1/ss = -1.0y
m1/corner_x = 14
m1/corner_y = 5

; tilted by 10 degrees about y, 2 mm closer
m2/min_fs = 0
m2/max_fs = 9
m2/min_ss = 52
m2/max_ss = 61
m2/fs = +0.98480775x +0.17364818z
m2/ss = -1.0y
m2/corner_x = -5
m2/corner_y = 22
m2/coffset = -0.002

m3/min_fs = 0
m3/max_fs = 9
m3/min_ss = 62
m3/max_ss = 71
m3/fs = +1.0x
m3/ss = -1.0y
m3/corner_x = -5
m3/corner_y = -12

; fs/ss bad region in the data block's coordinates (q2 starts at ss 16)
badA/min_fs = 2
badA/max_fs = 4
badA/min_ss = 17
badA/max_ss = 18
badA/panel = q2

; x/y bad region (pixel units, exclusive, tested at pixel corners): six pixels of m0
badB/min_x = -21
badB/max_x = -18
badB/min_y = -2
badB/max_y = 2
